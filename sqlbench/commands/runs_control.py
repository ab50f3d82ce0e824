"""`sqlbench runs stop|pause|resume|show RUN`: what the workbench does to a run, from a shell.

RUN is a run id under runs_dir (or `sqlbench runs --root DIR`) or a run directory's path.

* ``stop`` sends SIGTERM to the run's job; it ends ``interrupted`` (resume it later).
* ``pause`` creates ``RUN/pause``: a distillation finishes the requests in flight, then
  waits. ``resume`` removes it; on an *interrupted* run, ``resume`` starts the run's own
  command again, detached, with the same ``--run-dir`` (output in ``RUN/stdout.log``).
* ``show`` prints its status, its samples counted by verdict and its last metrics
  (``--json``: one JSON object).

A run that does not exist, is not running (stop, pause) or has an unreadable run.json
gets one line and exit 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = {
    "show": "a run's status, counts and last metrics",
    "stop": "stop a running job (SIGTERM; it ends interrupted)",
    "pause": "pause a running distillation (RUN/pause)",
    "resume": "resume a paused job, or restart an interrupted run detached",
}


def configure(sub: argparse._SubParsersAction) -> None:
    for name, help in HELP.items():
        p = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ". " + __doc__.split("\n\n")[1])
        p.add_argument("run", metavar="RUN", help="run id under runs_dir, or a run directory")
        if name == "show":
            p.add_argument("--json", action="store_true", help="one JSON object")


def resolve(args: argparse.Namespace) -> Path:
    """RUN as a path, else as an id under the runs folder; one line when it is neither."""
    from sqlbench.errors import RunDirError
    from sqlbench.runs.jobs import LAUNCH_FILE

    def is_run(p: Path) -> bool:
        return (p / "run.json").is_file() or (p / LAUNCH_FILE).is_file()

    given = Path(args.run)
    if is_run(given):
        return given
    if args.root:
        root = Path(args.root)
    else:
        from sqlbench.commands.base import load_context

        root = Path(load_context(args).settings.runs_dir)
    if "/" not in args.run and is_run(root / args.run):
        return root / args.run
    raise RunDirError(f"no run {args.run!r}: neither a run directory nor a run id under {root}")


def run(args: argparse.Namespace) -> int:
    from sqlbench.errors import RunDirError
    from sqlbench.runs import jobs

    path = resolve(args)
    name = path.name
    if args.runs_command == "show":
        return show(path, as_json=args.json)
    if args.runs_command == "stop":
        info = jobs.running_info(path)
        if not jobs.stop(path):
            raise RunDirError(f"{name} is no longer running")
        print(f"stopping {name} (pid {info.get('pid')}): it ends interrupted; `sqlbench runs resume {name}` "
              f"continues it")
    elif args.runs_command == "pause":
        jobs.request_pause(path, True)
        print(f"pausing {name}: requests in flight finish, then it waits; `sqlbench runs resume {name}` goes on")
    elif args.runs_command == "resume":
        job = jobs.request_resume(path, jobs.JobManager(path.parent))
        if job is None:
            print(f"resumed {name}")
        else:
            print(f"restarted {name} (pid {job.process.pid}); output in {path / jobs.STDOUT_LOG}")
    return 0


def show(path: Path, *, as_json: bool) -> int:
    from sqlbench.runs.summary import details

    d = details(path)
    if d["status"] == "unreadable":
        from sqlbench.errors import RunDirError

        raise RunDirError(d["error"])
    if as_json:
        print(json.dumps(d, default=str))
        return 0
    status = d["status"] + (" (paused)" if d.get("paused") and d["status"] == "running" else "")
    lines = [f"run       {d['id']} ({d['path']})", f"kind      {d['kind']}", f"status    {status}"]
    if d.get("error"):
        lines.append(f"error     {d['error']}")
    if d.get("brief"):
        lines.append(f"progress  {d['brief']}")
    c = d.get("counts")
    if c:
        by = ", ".join(f"{k} {v}" for k, v in c["invalid_by_reason"].items())
        text = f"{c['done']} samples: {c['valid']} valid, {c['unverified']} unverified, {c['invalid']} invalid"
        text += f" ({by})" if by else ""
        text += f", {c['failed']} failed" + (f", {c['unjudged']} not validated" if c["unjudged"] else "")
        lines.append(f"counts    {text}")
    m = d.get("metrics")
    if m:
        lines.append("metrics   " + ", ".join(f"{k}={_num(v)}" for k, v in m.items() if k != "t"))
    print("\n".join(lines))
    return 0


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
