"""The ``sqlbench`` console command: the engine's CLI, opening the workbench when no
subcommand is given. It lives here, above both layers, so the engine never names the UI."""

from __future__ import annotations

import argparse

from sqlbench.cli import main as engine_main


def open_workbench(args: argparse.Namespace) -> int:
    from screens.app import run_app

    return run_app(args)


def main(argv: list[str] | None = None) -> int:
    return engine_main(argv, open_ui=open_workbench)


if __name__ == "__main__":
    raise SystemExit(main())
