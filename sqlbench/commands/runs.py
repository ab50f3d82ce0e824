"""List run directories (newest first) with kind, status and headline progress.

A run whose process died without finishing (crash, SIGKILL, reboot) shows as
"interrupted": rerun its command with the same --run-dir to resume it."""

from __future__ import annotations

import argparse
import json
import time


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", help="runs folder (default: runs_dir from config.yaml)")
    parser.add_argument("--json", action="store_true", help="one JSON object per run")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from sqlbench.commands.base import load_context
    from sqlbench.jobs import settle_all
    from sqlbench.runs import list_runs

    ctx = load_context(args)
    settle_all(args.root or ctx.settings.runs_dir)  # a job that died before its run.json is listed failed
    runs = list_runs(args.root or ctx.settings.runs_dir)
    if args.json:
        for r in runs:
            print(json.dumps(r.summary(), default=str))
        return 0
    table = Table("run", "kind", "status", "started", "last")
    for r in runs:
        s = r.summary()
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(s["started"])) if s.get("started") else "?"
        last = s.get("last") or {}
        brief = ", ".join(f"{k}={v}" for k, v in last.items() if k not in ("t", "type"))[:60]
        table.add_row(s["id"], s["kind"], s["status"], started, brief)
    Console().print(table)
    return 0
