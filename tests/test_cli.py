"""The `sqlbench` entry point: every subcommand listed, nothing heavy imported."""

import json
import subprocess
import sys

HEAVY = ["torch", "transformers", "trl", "peft", "datasets", "vllm", "ray", "textual"]
SUBCOMMANDS = ["distill", "train", "validate", "eval", "chat", "serve", "tiny-model"]


def test_help_lists_every_subcommand():
    r = subprocess.run([sys.executable, "-m", "sqlbench", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for name in SUBCOMMANDS:
        assert f"\n    {name} " in r.stdout, name


def test_help_imports_no_heavy_library():
    code = (
        "import sys, json, contextlib, io\n"
        "from sqlbench.cli import build_parser\n"
        "p = build_parser()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: p.parse_args(['--help'])\n"
        "    except SystemExit: pass\n"
        "for sub in " + json.dumps(SUBCOMMANDS) + ":\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try: p.parse_args([sub, '--help'])\n"
        "        except SystemExit: pass\n"
        "print(json.dumps(sorted(m for m in " + json.dumps(HEAVY) + " if m in sys.modules)))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


def test_each_subcommand_has_help():
    for name in SUBCOMMANDS:
        r = subprocess.run([sys.executable, "-m", "sqlbench", name, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and f"usage: sqlbench {name}" in r.stdout, (name, r.stderr)


def test_only_the_invoked_subcommand_is_imported():
    code = ("import sys; from sqlbench.cli import build_parser\n"
            "build_parser([]).parse_args([])\n"
            "print(sorted(m for m in sys.modules if m.startswith('sqlbench.commands.')))\n"
            "build_parser(['runs', '--json']).parse_args(['runs', '--json'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('sqlbench.commands.')))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # `runs plot` and `runs stop|pause|resume|show` live in their own modules, part of the runs command
    assert r.stdout.splitlines() == ["[]", "['sqlbench.commands.runs', 'sqlbench.commands.runs_control', "
                                           "'sqlbench.commands.runs_plot']"]


def test_engine_alone_prints_help():
    """`python -m sqlbench` is the engine: without a command it prints help; only the
    `sqlbench` console script (screens.launch) opens the workbench. That the engine never
    imports the UI (screens, textual) is a rule of tests/test_layers.py."""
    r = subprocess.run([sys.executable, "-m", "sqlbench"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("usage: sqlbench")


def test_test_databases_flag_reaches_the_validator_settings_of_distill_eval_and_train(monkeypatch, tmp_path):
    """--test-databases on distill, eval and train sets validate.test_databases_with_rows
    for the job (the job is stopped as it starts: only the settings it is given matter)."""
    import pytest

    import sqlbench.distill
    import sqlbench.evaluation.accuracy
    import sqlbench.training.job
    from sqlbench.cli import main

    class Started(BaseException):  # not an Exception: main lets it through
        pass

    given = []

    def job(settings, *args, **kwargs):
        given.append(settings.validate_.test_databases_with_rows)
        raise Started

    monkeypatch.chdir(tmp_path)  # no config.yaml or .env of the checkout's
    monkeypatch.setattr(sqlbench.distill, "run_distill", job)
    monkeypatch.setattr(sqlbench.evaluation.accuracy, "run_eval", job)
    monkeypatch.setattr(sqlbench.training.job, "run_train", job)
    for command in ("distill", "eval", "train"):
        for flag, expected in (([], False), (["--test-databases"], True)):
            given.clear()
            with pytest.raises(Started):
                main([command, "--run-dir", str(tmp_path / f"{command}-{bool(flag)}"), *flag])
            assert given == [expected], (command, flag)
