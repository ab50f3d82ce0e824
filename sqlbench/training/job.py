"""The ``sqlbench train`` job: data -> (SFT) -> GRPO -> RUN/model, all in a run directory.

Run directory layout (besides run.json, config.yaml and the streams)::

    RUN/sft/checkpoints/checkpoint-N   SFT checkpoints (stage "sft" of --stage both|sft)
    RUN/sft/model/                     the SFT result (LoRA merged), GRPO's starting point
    RUN/checkpoints/checkpoint-N       checkpoints of the last stage (GRPO, or SFT alone)
    RUN/model/                         the final adapter (LoRA) or full model; with --merge,
                                       or when --model was another run's adapter, merged
                                       weights, the adapter then in RUN/adapter/
    RUN/summary.json                   stages, steps, final metrics (also the model card's)

With LoRA each stage trains a fresh adapter on the previous stage's merged weights, so
GRPO's KL term pulls towards the SFT policy, not towards the untuned base.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from sqlbench.errors import ConfigError, DatasetError
from sqlbench.runs import RunDir, atomic_write

DONE = "stage-done.json"


def _last_checkpoint(folder: Path) -> str | None:
    ckpts = [c for c in folder.glob("checkpoint-*") if c.name.split("-")[-1].isdigit()]
    return str(max(ckpts, key=lambda c: int(c.name.split("-")[-1]))) if ckpts else None


def choose_stage(stage: str, has_reasoning: bool) -> list[str]:
    if stage == "auto":
        return ["sft", "grpo"] if has_reasoning else ["grpo"]
    return ["sft", "grpo"] if stage == "both" else [stage]


def lora_config(cfg):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")


def _load_trainable(path: Path | str, *, token: str | None, cache_dir: str):
    """Full weights for training: an adapter folder is merged into its base first."""
    from sqlbench.inference.models import load_model

    # on the CPU: the trainer places it (each rank on its own GPU)
    model, tokenizer = load_model(path, device="cpu", token=token, merge=True, cache_dir=cache_dir)
    model.train()
    return model, tokenizer


def _save_model(model, tokenizer, out: Path, *, merge: bool, adapter_dir: Path | None = None) -> None:
    """LoRA: the adapter (plus merged weights with ``merge``); full: the weights. An Unsloth
    model (4-bit base) merges through its own ``save_pretrained_merged`` into 16-bit weights:
    a plain ``merge_and_unload`` into quantized weights loses the adapter's precision."""
    import shutil

    is_peft = hasattr(model, "peft_config")
    tmp = out.with_name(f".{out.name}.saving")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer.padding_side = "left"
    if is_peft and merge:
        if adapter_dir is not None:
            shutil.rmtree(adapter_dir, ignore_errors=True)
            model.save_pretrained(adapter_dir)
            tokenizer.save_pretrained(adapter_dir)
        if hasattr(model, "save_pretrained_merged"):  # Unsloth
            model.save_pretrained_merged(str(tmp), tokenizer, save_method="merged_16bit")
            shutil.rmtree(out, ignore_errors=True)
            os.replace(tmp, out)
            return
        model = model.merge_and_unload()
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def _no_telemetry() -> None:
    """TRL trainers report their use to the Hub endpoint unless told not to; a local
    training job has no business phoning home (and HF_ENDPOINT may be a private mirror).
    An explicit HF_HUB_DISABLE_TELEMETRY=0 is respected."""
    if os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1") not in ("0", "false", "False", "no"):
        import huggingface_hub.constants as hc

        hc.HF_HUB_DISABLE_TELEMETRY = True


def run_train(settings, secrets, *, run_dir: str | os.PathLike | None = None, resume: bool = False,
              stop: threading.Event | None = None, argv: list[str] | None = None,
              log: Callable[[str], None] = print) -> Path:
    """Train; returns the run directory. A stop request saves a checkpoint and returns
    with the run marked interrupted (``--resume`` continues it)."""
    from sqlbench.inference.models import resolve_model_path
    from sqlbench.training.rewards import resolve_weights
    from sqlbench.training.tiny import default_tiny_model
    from sqlbench.data.loader import load_training_tasks
    from sqlbench.training.data import has_reasoning, split_tasks
    from sqlbench.training.distributed import QuietRun, Ranks, wait_for_everyone

    cfg = settings.train
    ranks = Ranks.from_env()
    if not ranks.main:
        log = _quiet  # rank 0 speaks for the run
    from sqlbench.training.gpu import detect, import_unsloth_first

    accel = detect(full=cfg.full)
    if accel.unsloth:  # before anything imports transformers, trl or peft
        import_unsloth_first(log)
    _no_telemetry()
    if resume and run_dir is None:
        raise ConfigError("--resume needs --run-dir (the run to continue)")
    if resume and not (Path(run_dir) / "run.json").is_file():
        raise ConfigError(f"--resume: {run_dir} holds no run to continue")
    weights = resolve_weights(cfg.reward_weights)
    if not weights:
        raise ConfigError("--reward-weights: every reward is weighted 0; nothing to train on")
    from sqlbench.training.grpo import check_batch

    check_batch(cfg.per_device_train_batch_size, cfg.gradient_accumulation_steps, cfg.num_generations)
    if cfg.vllm_mode == "server" and ranks.main:
        from sqlbench.training.grpo import check_vllm_server

        check_vllm_server(cfg.vllm_server_url)
    from sqlbench.training.rewards import use_validate_settings

    # the execution reward and the held-out check judge with validate.* (timeout, max_rows, test databases)
    use_validate_settings(settings.validate_)

    token = secrets.get("hf_token")
    # A wrong --model fails before a run directory exists.
    base = resolve_model_path(cfg.model, cache_dir=settings.cache_dir, tiny=default_tiny_model)
    base = base.resolve() if isinstance(base, Path) else base
    if ranks.main:
        run = RunDir.create(run_dir, "train", settings.public_dict(), root=settings.runs_dir, argv=argv)
        if ranks.world > 1:  # what the workbench's Runs tab shows
            run.update_info(processes=ranks.world)
    else:  # the launcher fixed --run-dir for every rank; rank 0 writes it
        run = QuietRun(RunDir(run_dir))
    with run.recording_failure():
        tasks = load_training_tasks(cfg.dataset_repo_id, split=cfg.split, limit=cfg.limit, seed=cfg.seed,
                                    token=token, db_dir=cfg.db_dir)
        from sqlbench.data.dbschema import database_problems

        for line in database_problems(tasks):
            log(line.replace("judged bad_context", "left out of training"))
        tasks = [t for t in tasks if not t.db_error]  # no data to judge an answer on
        if len(tasks) < 2:
            raise DatasetError(f"{cfg.dataset_repo_id or 'bundled dataset'}: need at least 2 tasks, got {len(tasks)}")
        train_tasks, held_out = split_tasks(tasks, cfg.eval_split, seed=cfg.seed)
        stages = choose_stage(cfg.stage, has_reasoning(tasks))
        for line in accel.lines():
            log(line)
        run.event("plan", stages=stages, model=str(base), train_tasks=len(train_tasks),
                  held_out=len(held_out), reward_weights=weights, accel=accel.lines(), processes=ranks.world)
        summary: dict[str, Any] = {"base_model": str(cfg.model or base), "dataset": cfg.dataset_repo_id or "bundled",
                                   "stages": stages, "reward_weights": weights, "train_tasks": len(train_tasks),
                                   "held_out": len(held_out), "lora": None if cfg.full else
                                   {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "dropout": cfg.lora_dropout}}
        current = base
        for stage in stages:
            last = stage == stages[-1]
            ckpt_dir = run.path / "checkpoints" if last else run.path / stage / "checkpoints"
            out_dir = run.path / "model" if last else run.path / stage / "model"
            done_file = (run.path if last else run.path / stage) / DONE
            if resume and done_file.is_file():
                log(f"{stage}: already done, skipping")
                summary[stage] = json.loads(done_file.read_text())
                current = out_dir
                continue
            result = _run_stage(stage, run, settings, secrets, current, train_tasks, held_out, weights,
                                ckpt_dir=ckpt_dir, out_dir=out_dir, last=last, resume=resume,
                                stop=stop, accel=accel, log=log, ranks=ranks)
            if result.get("stopped"):
                summary[stage] = result
                if ranks.main:
                    atomic_write(run.path / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
                run.finish("interrupted", step=result.get("step"))
                log(f"stopped at {stage} step {result.get('step')}; continue with --resume --run-dir {run.path}")
                return run.path
            if ranks.main:
                done_file.parent.mkdir(parents=True, exist_ok=True)
                done_file.write_text(json.dumps(result, indent=2, default=str))
            wait_for_everyone(ranks)  # the next stage starts from the model rank 0 just saved
            summary[stage] = result
            current = out_dir
        summary["final_metrics"] = summary[stages[-1]].get("final_metrics", {})
        if not ranks.main:
            return run.path
        atomic_write(run.path / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
        if cfg.publish_repo_id:
            from sqlbench.training.publish import publish_model

            url = publish_model(run.path, cfg.publish_repo_id, token=token, private=cfg.private_repo, log=log)
            run.event("published", repo_id=cfg.publish_repo_id, url=url)
        run.finish("finished", model=str(run.path / "model"))
    return run.path


def _quiet(*args: Any, **kwargs: Any) -> None:
    pass


def unsloth_fast_inference(stage: str, accel, cfg) -> bool:
    """GRPO generating with vLLM in the trainer's own processes: Unsloth must start the vLLM
    engine itself (``fast_inference``) for TRL to share its weights. A vLLM server (or SFT)
    needs none."""
    return stage == "grpo" and accel.unsloth and accel.vllm and cfg.vllm_mode == "colocate"


def _run_stage(stage: str, run: RunDir, settings, secrets, model_path, train_tasks, held_out, weights, *,
               ckpt_dir: Path, out_dir: Path, last: bool, resume: bool, stop, accel, log,
               ranks=None) -> dict[str, Any]:
    from sqlbench.training.callbacks import (CompletionsCallback, ConsoleCallback, HeldOutEvalCallback,
                                             RunDirCallback)
    from sqlbench.training.data import grpo_rows, sft_rows
    from sqlbench.prompts import prompt_token_counter
    from sqlbench.training.distributed import Ranks, report_rank

    ranks = ranks or Ranks()
    cfg = settings.train
    t0 = time.time()
    token = secrets.get("hf_token")
    peft_config = None
    if accel.unsloth:
        from sqlbench.training.gpu import load_unsloth

        model, tokenizer = load_unsloth(model_path, max_seq_length=settings.max_seq_length, lora_r=cfg.lora_r,
                                        lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                        seed=cfg.seed, fast_inference=unsloth_fast_inference(stage, accel, cfg),
                                        log=log)
    else:
        model, tokenizer = _load_trainable(model_path, token=token, cache_dir=settings.cache_dir)
        if not cfg.full:
            peft_config = lora_config(cfg)
    count = prompt_token_counter(tokenizer)
    system_prompt = settings.system_prompt
    # Held-out generation on rank 0 alone: the others would only repeat it.
    eval_cb = HeldOutEvalCallback(run, held_out if ranks.main else [], stage=stage, eval_steps=cfg.eval_steps,
                                  max_new_tokens=cfg.max_completion_length, system_prompt=system_prompt,
                                  max_prompt_tokens=settings.max_prompt_length, stop=stop)
    run_cb = RunDirCallback(run, stage, stop=stop)
    resume_from = _last_checkpoint(ckpt_dir) if resume else None
    if resume_from:
        log(f"{stage}: resuming from {resume_from}")
    max_steps = cfg.sft_max_steps if stage == "sft" and cfg.sft_max_steps is not None else cfg.max_steps
    common = dict(max_steps=max_steps, epochs=cfg.epochs, batch_size=cfg.per_device_train_batch_size,
                  grad_accum=cfg.gradient_accumulation_steps, seed=cfg.seed, logging_steps=cfg.logging_steps,
                  save_steps=cfg.save_steps, cpu=not accel.cuda)
    if stage == "sft":
        from sqlbench.training.sft import sft_config
        from sqlbench.training.templates import make_answer_sft_trainer

        rows = sft_rows(train_tasks, system_prompt=system_prompt, count_tokens=count,
                        max_prompt_tokens=settings.max_prompt_length)
        if not rows:
            raise DatasetError("SFT needs reasoning to imitate: the dataset has no reasoning/explanation column "
                               "(use --stage grpo, or distill the data first)")
        args = sft_config(ckpt_dir, learning_rate=cfg.sft_learning_rate, max_length=settings.max_seq_length,
                          **common)
        trainer = make_answer_sft_trainer(model, tokenizer, rows, args, peft_config=peft_config,
                                          callbacks=[run_cb, eval_cb, ConsoleCallback(stage, log)], log=log)
    else:
        from sqlbench.training.grpo import grpo_config, make_grpo_trainer

        names = list(weights)
        rows = grpo_rows(train_tasks, system_prompt=system_prompt, count_tokens=count,
                         max_prompt_tokens=settings.max_prompt_length)
        use_vllm = accel.vllm or cfg.vllm_mode == "server"
        if use_vllm:
            log(f"vLLM: GRPO generation {'on ' + str(cfg.vllm_server_url) if cfg.vllm_mode == 'server' else 'colocated with training'}")
        args = grpo_config(ckpt_dir, learning_rate=cfg.learning_rate, num_generations=cfg.num_generations,
                           max_completion_length=cfg.max_completion_length, temperature=settings.temperature,
                           beta=cfg.beta, loss_type=cfg.loss_type, reward_weights=[weights[n] for n in names],
                           use_vllm=use_vllm, vllm_tensor_parallel_size=settings.tensor_parallel_size,
                           vllm_mode=cfg.vllm_mode, vllm_server_url=cfg.vllm_server_url,
                           **common)
        comp_cb = CompletionsCallback(run, train_tasks)
        trainer = make_grpo_trainer(model, tokenizer, rows, args, names, peft_config=peft_config,
                                    callbacks=[run_cb, comp_cb, eval_cb, ConsoleCallback(stage, log)])
        comp_cb.trainer = trainer
    report_rank(ranks, stage, 0, trainer.model)
    out = trainer.train(resume_from_checkpoint=resume_from)
    step = trainer.state.global_step
    report_rank(ranks, stage, step, trainer.model)
    final = {k: v for k, v in (trainer.state.log_history[-1] if trainer.state.log_history else {}).items()}
    result: dict[str, Any] = {"stage": stage, "step": step, "max_steps": trainer.state.max_steps,
                              "train_loss": getattr(out, "training_loss", None),
                              "seconds": round(time.time() - t0, 1)}
    if run_cb.stopped:
        result["stopped"] = True
        return result
    metrics = {k: v for k, v in final.items() if isinstance(v, (int, float))}
    if eval_cb.last:
        metrics.update({k: v for k, v in eval_cb.last.items() if k.startswith("eval/")})
    result["final_metrics"] = metrics
    if ranks.main:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        from sqlbench.inference.models import adapter_base

        # Started from another run's adapter (merged into its base to train on): an adapter
        # saved alone would name that base and lose the first adapter's training.
        stacked = last and not cfg.merge and isinstance(model_path, Path) and adapter_base(model_path) is not None
        if stacked and hasattr(trainer.model, "peft_config"):
            log(f"{stage}: started from the adapter {model_path}: saving merged weights (with the adapter in "
                f"{run.path / 'adapter'})")
        _save_model(trainer.model, tokenizer, out_dir, merge=(cfg.merge or stacked if last else True),
                    adapter_dir=run.path / "adapter" if last else None)
    run.event("saved", stage=stage, path=str(out_dir))
    log(f"{stage}: {step} steps in {result['seconds']}s -> {out_dir}")
    return result
