"""The dependency lock: what `make setup` installs is what constraints.txt pins, and the
lock keeps up with pyproject.toml (a drift names the package)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lock_module():
    spec = importlib.util.spec_from_file_location("sqlbench_lock_tool", ROOT / "tools" / "lock.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_lock_covers_every_requirement_of_pyproject():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "lock.py"), "check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_this_environment_has_the_locked_versions():
    """make setup installed from the lock: every pinned package of pyproject is at its pin."""
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("not the venv `make setup` builds (make check-latest runs newer versions on purpose)")
    lock = _lock_module()
    pins = lock.pins()
    off = {}
    for req in lock.requirements():
        name = lock.canonical(req.name)
        if name in lock.UNLOCKED:
            continue
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            have = None
        if have != pins.get(name):
            off[req.name] = (have, pins.get(name))
    assert off == {}, f"installed vs locked: {off}; run `make setup`"


def test_a_lock_out_of_step_with_pyproject_names_the_package(tmp_path):
    lock = _lock_module()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["sqlglot>=26", "duckdb>=1.1", "rich>=13"]\n'
        '[project.optional-dependencies]\ndev = ["pytest>=8"]\n'
    )
    (tmp_path / "constraints.txt").write_text("# python 3.11\nsqlglot==25.1.0\nDuckDB==1.2.0\npytest==8.1.0\n")
    lock.PYPROJECT, lock.LOCK = tmp_path / "pyproject.toml", tmp_path / "constraints.txt"
    found = lock.problems()
    assert len(found) == 2
    assert found[0].startswith("sqlglot: constraints.txt pins 25.1.0, outside pyproject.toml's >=26")
    assert found[1].startswith("rich: required by pyproject.toml (rich>=13) but not in constraints.txt")


def test_make_setup_names_the_python_the_lock_needs(tmp_path):
    lock = _lock_module()
    (tmp_path / "constraints.txt").write_text("# python 2.7\nrich==13.0.0\n")
    lock.LOCK = tmp_path / "constraints.txt"
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert lock.python_ok() == 1
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and "Python 2.7" in lines[0] and "make setup PY=python2.7" in lines[0]
    (tmp_path / "constraints.txt").write_text("# python %d.%d\n" % sys.version_info[:2])
    assert lock.python_ok() == 0
