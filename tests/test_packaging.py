"""sqlbench installs as a package: a wheel built from the tracked files installs into a
clean venv outside the repository, ships the bundled data and stylesheets but no build
scripts or tests, and its commands work there."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import sqlbench

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Build from what a clone holds (git's tracked files), not from this working tree's leftovers.
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((ROOT / name).read_bytes())
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(src)], check=True, cwd=src)
    (whl,) = out.glob("sqlbench-*.whl")
    return whl


def test_wheel_ships_data_and_styles_not_builders_or_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "sqlbench/data/sample/tasks.jsonl" in names
    assert "screens/app.tcss" in names
    assert not [n for n in names if n.startswith(("tests/", "tools/", "bench/")) or n.endswith("build_sample_tasks.py")]
    assert wheel.name.startswith(f"sqlbench-{sqlbench.__version__}-")


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A clean venv holding only the wheel; its dependencies are borrowed read-only from this
    environment's site-packages (a .pth line), so nothing is downloaded."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "borrowed_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return env_dir


def _env() -> dict[str, str]:
    # a PYTHONPATH pointing at a checkout would put its sqlbench before the wheel's
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def _run(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(env_dir / "bin" / "sqlbench"), *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=600)


def test_installed_wheel_runs_outside_the_repository(installed, tmp_path):
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import sqlbench; print(sqlbench.__file__)"],
                           cwd=tmp_path, env=_env(), check=True, capture_output=True, text=True).stdout
    assert Path(where.strip()).is_relative_to(installed), where  # the wheel's copy, not the checkout

    version = _run(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"sqlbench {sqlbench.__version__}"
    help_ = _run(installed, "--help", cwd=tmp_path)
    assert help_.returncode == 0 and "validate" in help_.stdout

    out = tmp_path / "verdicts.jsonl"
    val = _run(installed, "validate", "--limit", "12", "-o", str(out), cwd=tmp_path)
    assert val.returncode == 0, val.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12 and all(r["verdict"]["reason"] == "ok" for r in rows)  # bundled golds, from the wheel

    tiny = _run(installed, "tiny-model", str(tmp_path / "tiny"), "--warm-steps", "2", cwd=tmp_path)
    assert tiny.returncode == 0, tiny.stderr
    assert (tmp_path / "tiny" / "config.json").is_file() and (tmp_path / "tiny" / "tokenizer_config.json").is_file()
