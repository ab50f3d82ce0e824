"""List run directories (newest first) with kind, status and headline progress.

A run whose process died without finishing (crash, SIGKILL, reboot) shows as
"interrupted": `sqlbench runs resume RUN` (or its command with the same --run-dir)
resumes it. A run whose run.json cannot be read shows as "unreadable" with the reason;
the others are listed. `sqlbench runs show|stop|pause|resume RUN` acts on one run."""

from __future__ import annotations

import argparse
import json
import time


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", help="runs folder (default: runs_dir from config.yaml)")
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    from sqlbench.commands import runs_control, runs_plot  # `runs plot|stop|… RUN`: their own modules

    sub = parser.add_subparsers(dest="runs_command", metavar="{plot,show,stop,pause,resume}")
    runs_plot.configure(sub.add_parser("plot", help=runs_plot.HELP, description=runs_plot.__doc__,
                                       formatter_class=argparse.RawDescriptionHelpFormatter))
    runs_control.configure(sub)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "runs_command", None) == "plot":
        from sqlbench.commands import runs_plot

        return runs_plot.run(args)
    if getattr(args, "runs_command", None):
        from sqlbench.commands import runs_control

        return runs_control.run(args)
    from rich.console import Console
    from rich.table import Table

    from sqlbench.commands.base import load_context
    from sqlbench.runs import UNREADABLE
    from sqlbench.runs.summary import summarize_all

    ctx = load_context(args)
    # a job that died before its run.json is settled and listed failed, one still starting as starting
    runs = summarize_all(args.root or ctx.settings.runs_dir)
    if args.json:
        for s in runs:
            print(json.dumps(s, default=str))
        return 0
    table = Table("run", "kind", "status", "started", "last")
    for s in runs:
        try:
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(s["started"])))
        except (TypeError, ValueError, OverflowError, OSError):
            started = "?"
        last = s.get("last") or {}
        brief = ", ".join(f"{k}={v}" for k, v in last.items() if k not in ("t", "type"))[:60]
        if s["status"] == UNREADABLE:  # listed with its reason; the other runs are still shown
            brief = s.get("error", "")
        table.add_row(s["id"], s["kind"], s["status"], started, brief)
    Console().print(table)
    return 0
