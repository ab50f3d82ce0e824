"""GRPO with TRL's GRPOTrainer on the SQL rewards.

TRL's defaults moved between releases (beta 0.04 -> 0.0, loss "grpo" -> "dapo",
scale_rewards bool -> "group"); we pin TRL and still set every one of them here so a
run means the same thing on any install. TRL 1.16 has no ``max_prompt_length``:
prompts are fitted before they reach the trainer (``training.data.fit_task``).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from sqlbench.errors import ConfigError


def check_batch(batch_size: int, grad_accum: int, num_generations: int) -> None:
    """TRL groups the completions of one prompt inside a generation batch."""
    total = batch_size * grad_accum
    if total % num_generations:
        raise ConfigError(
            f"--per-device-train-batch-size x gradient accumulation ({batch_size} x {grad_accum} = {total}) "
            f"must be divisible by --num-generations ({num_generations})"
        )


def grpo_config(output_dir: str | os.PathLike, *, max_steps: int = -1, epochs: float = 1.0,
                learning_rate: float = 5e-6, batch_size: int = 4, grad_accum: int = 1,
                num_generations: int = 4, max_completion_length: int = 256, temperature: float = 0.7,
                beta: float = 0.04, loss_type: str = "grpo", reward_weights: Sequence[float] | None = None,
                seed: int = 42, logging_steps: int = 1, save_steps: int | None = None,
                cpu: bool | None = None, use_vllm: bool = False, vllm_tensor_parallel_size: int = 1,
                vllm_mode: str = "colocate", vllm_server_url: str | None = None, **extra: Any):
    import torch
    from trl import GRPOConfig

    from sqlbench.training.trl_common import common_args

    check_batch(batch_size, grad_accum, num_generations)
    cpu = (not torch.cuda.is_available()) if cpu is None else cpu
    if cpu and use_vllm:
        raise ConfigError("vLLM generation needs a GPU")
    try:
        return GRPOConfig(
            num_generations=num_generations,
            max_completion_length=max_completion_length,
            temperature=temperature,
            top_p=1.0,
            # pinned across TRL releases
            beta=beta,
            loss_type=loss_type,
            scale_rewards="group",
            epsilon=0.2,
            num_iterations=1,
            mask_truncated_completions=False,
            multi_objective_aggregation="sum_then_normalize",
            importance_sampling_level="token",
            reward_weights=list(reward_weights) if reward_weights is not None else None,
            use_vllm=use_vllm,
            vllm_mode=vllm_mode,
            vllm_tensor_parallel_size=vllm_tensor_parallel_size,
            **({"vllm_server_base_url": vllm_server_url} if vllm_mode == "server" and vllm_server_url else {}),
            log_completions=False,  # we write completions.jsonl ourselves
            **common_args(output_dir, max_steps=max_steps, epochs=epochs, learning_rate=learning_rate,
                          batch_size=batch_size, grad_accum=grad_accum, seed=seed, logging_steps=logging_steps,
                          save_steps=save_steps, cpu=cpu, bf16=not cpu and torch.cuda.is_bf16_supported(),
                          extra=extra),
        )
    except ValueError as e:  # TRL's own consistency checks: one line for the user
        raise ConfigError(f"GRPO settings: {str(e).splitlines()[0]}") from None


def check_vllm_server(url: str | None, timeout: float = 10.0) -> None:
    """`--vllm-mode server` needs a running `trl vllm-serve`: one line within ``timeout`` when
    it does not answer, naming the URL and what to run."""
    import urllib.error
    import urllib.request

    if not url:
        raise ConfigError("--vllm-mode server needs --vllm-server-url (e.g. http://127.0.0.1:8000, "
                          "where `trl vllm-serve --model MODEL` listens)")
    health = url.rstrip("/") + "/health/"
    try:
        with urllib.request.urlopen(health, timeout=timeout) as r:
            if r.status == 200:
                return
            why = f"HTTP {r.status}"
    except urllib.error.HTTPError as e:
        why = f"HTTP {e.code}"
    except (OSError, ValueError) as e:
        why = str(getattr(e, "reason", e))
    raise ConfigError(f"--vllm-server-url {url}: no vLLM server answers ({why}); start one with "
                      "`CUDA_VISIBLE_DEVICES=1 trl vllm-serve --model MODEL` on a GPU the trainer does not use")


def make_grpo_trainer(model, tokenizer, rows: Sequence[dict], args, reward_names: Sequence[str], *,
                      peft_config=None, callbacks: list | None = None):
    from trl import GRPOTrainer

    from sqlbench.training.rewards import REWARDS
    from sqlbench.training.trl_common import build_trainer

    return build_trainer(GRPOTrainer, model, tokenizer, rows, args, padding_side="left",
                         peft_config=peft_config, callbacks=callbacks,
                         reward_funcs=[REWARDS[n] for n in reward_names])
