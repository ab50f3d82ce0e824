"""Training across processes: 2 real processes (torchrun, gloo) on the tiny student, the
shipped accelerate configs, and the one-line refusals of launches that cannot work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sqlbench.errors import ConfigError
from sqlbench.training.distributed import check_launch, free_port, launch_command, read_accelerate_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "accelerate"


@pytest.mark.parametrize("name,kind", [("deepspeed_zero2", "DEEPSPEED"), ("deepspeed_zero3", "DEEPSPEED"),
                                       ("fsdp", "FSDP")])
def test_shipped_accelerate_configs_load_with_accelerates_parser(name, kind):
    from accelerate.commands.config.config_args import load_config_from_file

    cfg = load_config_from_file(str(CONFIGS / f"{name}.yaml")).to_dict()
    assert cfg["distributed_type"] == kind and cfg["num_processes"] == 8 and cfg["num_machines"] == 1
    if kind == "DEEPSPEED":
        assert cfg["deepspeed_config"]["zero_stage"] == int(name[-1])
        import importlib.util

        if importlib.util.find_spec("deepspeed") is None:
            with pytest.raises(ConfigError, match=r"DeepSpeed, which is not installed: pip install -e '\.\[deepspeed\]'"):
                read_accelerate_config(CONFIGS / f"{name}.yaml")
    else:
        assert cfg["fsdp_config"]["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
        assert read_accelerate_config(CONFIGS / f"{name}.yaml")["distributed_type"] == "FSDP"


def test_launches_that_cannot_work_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="no GPU and 2 CPU core"):
        check_launch(3, cores=2, gpus=0)
    with pytest.raises(ConfigError, match="has 4 GPU"):
        check_launch(8, cores=64, gpus=4)
    with pytest.raises(ConfigError, match="FSDP|8 GPU|CPU core"):  # the file asks for 8 processes
        check_launch(1, str(CONFIGS / "fsdp.yaml"), cores=2, gpus=0)
    with pytest.raises(ConfigError, match="no such file"):
        check_launch(2, "nowhere.yaml", cores=2, gpus=0)
    assert check_launch(2, cores=2, gpus=0) is None


def test_launch_command_fixes_the_run_dir_for_every_rank():
    cmd = launch_command(["--config", "c.yaml", "train", "--run-dir", "old", "--max-steps", "2"], 2, "runs/x",
                         port=29999)
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"] and "--nproc_per_node" in cmd
    tail = cmd[cmd.index("sqlbench") + 1:]
    assert tail == ["--config", "c.yaml", "train", "--max-steps", "2", "--run-dir", "runs/x"]
    acc = launch_command(["train"], 1, "r", accelerate_config="a.yaml", port=1)
    assert "--num_processes" not in acc and acc[acc.index("--config_file") + 1] == "a.yaml"


def _cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sqlbench", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=900)


def test_cli_refuses_too_many_processes_and_an_unreachable_vllm_server(tmp_path):
    proc = _cli("train", "--num-processes", "999", cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "--num-processes 999" in proc.stderr and not (tmp_path / "runs").exists()
    url = f"http://127.0.0.1:{free_port()}"
    proc = _cli("train", "--vllm-mode", "server", "--vllm-server-url", url, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert url in line and "trl vllm-serve" in line and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_two_processes_train_together_and_rank_0_writes_the_run_once(tiny_model_dir, distilled_run_dir, tmp_path):
    run = tmp_path / "run"
    report = tmp_path / "ranks"
    proc = _cli("train", "--model", str(tiny_model_dir), "--dataset-repo-id", str(distilled_run_dir),
                "--stage", "both", "--max-steps", "1", "--num-processes", "2", "--run-dir", str(run),
                "--per-device-train-batch-size", "2", "--num-generations", "2", "--max-completion-length", "16",
                "--eval-split", "2", "--eval-steps", "100", "--save-steps", "1", "--full",
                "--sft-learning-rate", "1e-2", "--learning-rate", "1e-2",
                env={"SQLBENCH_RANK_REPORT": str(report), "HF_HUB_OFFLINE": "1"}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # Both ranks trained each stage, and hold the same weights after the step: gradients were
    # all-reduced (the weights moved, and moved alike).
    ranks = {r: [json.loads(x) for x in (report / f"rank-{r}.jsonl").read_text().splitlines()] for r in (0, 1)}
    for r in (0, 1):
        assert [(x["stage"], x["step"], x["world"]) for x in ranks[r]] == [("sft", 0, 2), ("sft", 1, 2),
                                                                            ("grpo", 0, 2), ("grpo", 1, 2)]
    for i in range(4):
        a, b = ranks[0][i], ranks[1][i]
        assert a["checksum"] == pytest.approx(b["checksum"], rel=1e-9, abs=1e-9)
        assert a["sq_norm"] == pytest.approx(b["sq_norm"], rel=1e-9)
    assert ranks[0][1]["sq_norm"] != pytest.approx(ranks[0][0]["sq_norm"], rel=1e-12)  # SFT moved the weights

    # The run directory is written once, by rank 0.
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    types = [e["type"] for e in events]
    assert types.count("plan") == 1 and types.count("finished") == 1
    assert next(e for e in events if e["type"] == "plan")["processes"] == 2
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    logged = [(m["stage"], m["step"]) for m in metrics if "loss" in m]
    assert sorted(set(logged)) == sorted(logged)  # no step logged twice
    assert {m["stage"] for m in metrics if "eval/execution_accuracy" in m} == {"sft", "grpo"}  # held-out eval ran
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert (run / "model" / "config.json").is_file() and (run / "sft" / "model").is_dir()
    assert proc.stdout.count("train finished") == 1


@pytest.mark.slow
def test_sigterm_to_the_launcher_stops_every_rank_at_the_same_step(tiny_model_dir, distilled_run_dir, tmp_path):
    """A SIGTERM to `sqlbench train --num-processes 2` reaches both ranks; they agree on the
    step to stop at, rank 0 writes the checkpoint and the interrupted status once, and the
    command exits 130. --resume then continues across processes."""
    import signal

    from sqlbench.runs import RunDir
    from tests.fixtures.waiting import wait_for

    run = tmp_path / "run"
    report = tmp_path / "ranks"
    args = ["train", "--model", str(tiny_model_dir), "--dataset-repo-id", str(distilled_run_dir), "--stage", "sft",
            "--num-processes", "2", "--run-dir", str(run), "--per-device-train-batch-size", "2",
            "--num-generations", "2", "--full",
            "--eval-split", "2", "--eval-steps", "100000", "--save-steps", "100000"]
    env = {**os.environ, "SQLBENCH_RANK_REPORT": str(report), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sqlbench", *args, "--max-steps", "100000"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (run / "events.jsonl").exists() and any(e["type"] == "step" for e in RunDir(run).read("events")),
                 "a training step", timeout=600, proc=proc, interval=0.2)
        proc.send_signal(signal.SIGTERM)  # to the launcher only
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    r = RunDir(run)
    assert r.status == "interrupted"
    ranks = {i: [json.loads(x) for x in (report / f"rank-{i}.jsonl").read_text().splitlines()] for i in (0, 1)}
    last = {i: ranks[i][-1] for i in (0, 1)}
    assert last[0]["step"] == last[1]["step"] > 0  # both ranks stopped after the same step
    assert last[0]["checksum"] == pytest.approx(last[1]["checksum"], rel=1e-9, abs=1e-9)
    ckpts = list(run.glob("checkpoints/checkpoint-*"))
    assert [c.name for c in ckpts] == [f"checkpoint-{last[0]['step']}"]
    events = r.read("events")
    assert [e["type"] for e in events].count("plan") == 1
    assert sum(1 for e in events if e["type"] == "checkpoint") == 1
    assert out.count("train interrupted") == 1  # rank 0 alone reports the run
