"""GRPO on the warm tiny model: TRL's metric keys land in the run directory, rewards vary
within groups, weights change, and the result loads as --model RUN."""

from __future__ import annotations

import json

import pytest

from sqlbench.config import Secrets
from sqlbench.training.rewards import REWARDS
from sqlbench.runs import RunDir

METRIC_KEYS = {"reward", "reward_std", "kl", "frac_reward_zero_std", "completions/mean_length", "loss",
               "learning_rate", "step", "stage", "epoch"} | {f"rewards/{n}/mean" for n in REWARDS}


@pytest.fixture(scope="module")
def grpo_run(warm_tiny_model_dir, tmp_path_factory):
    from sqlbench.training.job import run_train
    from tests.fixtures.tiny_model import small_train_settings

    root = tmp_path_factory.mktemp("grpo")
    settings = small_train_settings(root, model=str(warm_tiny_model_dir), max_steps=3, limit=20,
                                    per_device_train_batch_size=8, num_generations=4, eval_steps=2,
                                    max_completion_length=48)
    settings.validate_.timeout, settings.validate_.max_rows = 4.5, 777  # not the defaults: they must travel
    lines: list[str] = []
    path = run_train(settings, Secrets(), run_dir=root / "run", log=lines.append)
    from sqlbench.sqlcheck.shared import get_validator, set_validator

    judged_with = get_validator()  # what the execution reward and the held-out check judged with
    set_validator(None)
    return RunDir(path), lines, judged_with


def test_the_rewards_judge_with_the_validate_settings(grpo_run):
    judged_with = grpo_run[2]
    assert (judged_with.timeout, judged_with.max_rows) == (4.5, 777)


def test_metrics_have_trl_keys_step_stage_epoch(grpo_run):
    run, _, _ = grpo_run
    metrics = [m for m in run.read("metrics") if "reward" in m]
    assert [m["step"] for m in metrics] == [1, 2, 3]
    for m in metrics:
        missing = METRIC_KEYS - set(m)
        assert not missing, missing
        assert m["stage"] == "grpo"
    assert any(m["reward_std"] > 0 for m in metrics)
    held = [m for m in run.read("metrics") if "eval/execution_accuracy" in m]
    assert held and all(0 <= m["eval/execution_accuracy"] <= 1 and 0 <= m["eval/format_rate"] <= 1 for m in held)
    assert {m["step"] for m in held} >= {2, 3}  # every --eval-steps and at the end


def test_completions_carry_per_reward_scores_and_gold(grpo_run):
    from sqlbench.data.loader import load_tasks

    run, _, _ = grpo_run
    rows = run.read("completions")
    assert rows and {r["step"] for r in rows} == {1, 2, 3}
    golds = {t.gold_sql for t in load_tasks(limit=20)}
    for r in rows:
        assert set(r["rewards"]) == set(REWARDS)
        assert r["gold_sql"] in golds
        assert "Database schema:" in r["prompt"] and isinstance(r["completion"], str)


def test_events_mark_stage_steps_eval_and_finish(grpo_run):
    run, lines, _ = grpo_run
    types = [e["type"] for e in run.read("events")]
    assert types[0] == "plan" and "stage" in types and types[-1] == "finished"
    steps = [e for e in run.read("events") if e["type"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3] and all(e["max_steps"] == 3 for e in steps)
    # the stage's own pace is not known after 1 or 2 steps (sqlbench.training.eta): no figure
    assert [e["eta_s"] for e in steps] == [None, None, 0.0]
    assert any(e["type"] == "eval" and "execution_accuracy" in e for e in run.read("events"))
    assert run.status == "finished"
    assert any(line.startswith("device: CPU") for line in lines)  # the accel path is announced


def test_lora_weights_changed_and_model_loads(grpo_run):
    from safetensors.torch import load_file

    from sqlbench.evaluation.accuracy import generate_answers
    from sqlbench.data.loader import load_tasks
    from sqlbench.inference.models import load_model, resolve_model_path

    run, _, _ = grpo_run
    adapter = load_file(str(run.path / "model" / "adapter_model.safetensors"))
    b = [v for k, v in adapter.items() if "lora_B" in k]
    assert b and any(float(v.abs().sum()) > 0 for v in b)  # B starts at zero: nonzero = trained
    assert resolve_model_path(run.path) == run.path / "model"
    model, tok = load_model(run.path)
    out = generate_answers(model, tok, load_tasks(limit=2), max_new_tokens=8)
    assert len(out) == 2
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["stages"] == ["grpo"] and summary["grpo"]["step"] == 3
    assert "eval/execution_accuracy" in summary["final_metrics"]
