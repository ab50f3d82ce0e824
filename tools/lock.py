"""The dependency lock (constraints.txt): write it, and check it against the project.

`make setup` installs with ``pip install -c constraints.txt``, so a fresh clone gets the
exact versions the suite last passed with, while pyproject.toml keeps compatible ranges
for people who install sqlbench as a library.

    python tools/lock.py python-ok          # one line and exit 1 when this Python cannot use the lock
    python tools/lock.py write [PYTHON]     # the lock from PYTHON's environment (`make lock` calls it)
    python tools/lock.py check              # every requirement of pyproject.toml pinned in the lock, in range
    python tools/lock.py diff PYTHON        # how PYTHON's environment differs from the lock (make check-latest)

This file runs under whatever `python3` a newcomer has (for ``python-ok``), so it keeps to
the standard library and old syntax outside the functions that need more.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"
PYPROJECT = ROOT / "pyproject.toml"
# Installed by name, not through pyproject (torch's build is the machine's choice: CPU here,
# CUDA elsewhere) or the project itself.
UNLOCKED = {"torch", "sqlbench"}
# Extras a CPU machine installs; `gpu` (vLLM, Unsloth) needs CUDA and is never locked here.
LOCKED_EXTRAS = ("dev", "ray")
HEADER = """\
# sqlbench's dependency lock: the exact versions `make setup`, `make test` and CI install
# (pip install -c constraints.txt). Regenerate with `make lock`; see README, "Install".
# python {python}
# torch is installed on its own (make setup TORCH=...), so it is not pinned here.
"""


def canonical(name):
    return name.lower().replace("_", "-").replace(".", "-")


def lock_python():
    for line in LOCK.read_text().splitlines():
        if line.startswith("# python "):
            return line.split()[2]
    return None


def python_ok():
    want = lock_python()
    have = "%d.%d" % sys.version_info[:2]
    if want and want != have:
        print("make setup: the lock (constraints.txt) is for Python %s, but %s is Python %s: "
              "run `make setup PY=python%s` (or `make lock` to lock for this Python)"
              % (want, sys.executable, have, want), file=sys.stderr)
        return 1
    return 0


def pins():
    out = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[canonical(name.split("[")[0])] = version.split(";")[0].strip()
    return out


def write(python):
    frozen = subprocess.run([python, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                            check=True, capture_output=True, text=True).stdout
    lines = []
    for line in frozen.splitlines():
        if "==" not in line or line.startswith("-e "):
            continue
        if canonical(line.split("==", 1)[0]) in UNLOCKED:
            continue
        lines.append(line.strip())
    version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    LOCK.write_text(HEADER.format(python=version) + "\n".join(sorted(lines, key=str.lower)) + "\n")
    print("wrote %s: %d packages for Python %s" % (LOCK.name, len(lines), version))
    return 0


def requirements():
    """pyproject.toml's dependencies and locked extras, as packaging Requirements."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads(PYPROJECT.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in LOCKED_EXTRAS:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return [Requirement(r) for r in reqs]


def problems():
    """One line per requirement the lock does not satisfy, naming the package."""
    locked = pins()
    out = []
    for req in requirements():
        name = canonical(req.name)
        if name in UNLOCKED:
            continue
        if name not in locked:
            out.append("%s: required by pyproject.toml (%s) but not in %s: run `make lock`"
                       % (req.name, req, LOCK.name))
        elif not req.specifier.contains(locked[name], prereleases=True):
            out.append("%s: %s pins %s, outside pyproject.toml's %s: run `make lock`"
                       % (req.name, LOCK.name, locked[name], req.specifier))
    return out


def check():
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


def diff(python):
    frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable"],
                            check=True, capture_output=True, text=True).stdout
    have = {}
    for line in frozen.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            have[canonical(name)] = version.strip()
    locked = pins()
    changed = 0
    for name in sorted(set(have) | set(locked)):
        if name in UNLOCKED or name in ("pip", "setuptools", "wheel") or have.get(name) == locked.get(name):
            continue
        print("%s: locked %s, newest allowed %s" % (name, locked.get(name, "-"), have.get(name, "-")))
        changed += 1
    print("%d package(s) differ from %s" % (changed, LOCK.name))
    return 0


def main(argv):
    if argv[:1] == ["python-ok"]:
        return python_ok()
    if argv[:1] == ["write"]:
        return write(argv[1] if len(argv) > 1 else sys.executable)
    if argv[:1] == ["check"]:
        return check()
    if argv[:1] == ["diff"] and len(argv) == 2:
        return diff(argv[1])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
