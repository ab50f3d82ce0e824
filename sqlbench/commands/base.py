"""What every subcommand shares: settings + secrets from the global flags."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic is imported only when a command runs: `sqlbench` opens the UI first
    from sqlbench.config import Secrets, Settings


@dataclass
class Context:
    settings: Settings
    secrets: Secrets


def load_context(args: argparse.Namespace, section: str = "", flags: dict | None = None,
                 top_flags: dict | None = None, resume: str | None = None) -> Context:
    """Settings with this command's flags overlaid on ``section`` (flag > env > file >
    default). Resuming the run in ``resume``, its own stored settings take the file's
    place: a resumed run goes on as it started (same teacher, data, limits), with only
    the flags given now changed."""
    import sys

    from sqlbench.config import apply_flags, load_run_settings, load_secrets, load_settings

    secrets = load_secrets(getattr(args, "env_file", ".env"))
    if resume:
        settings = load_run_settings(resume)
        print(f"sqlbench: resuming {resume} with the settings it started with (flags given now override them)",
              file=sys.stderr)
    else:
        settings = load_settings(getattr(args, "config", None))
    if top_flags:
        settings = apply_flags(settings, "", top_flags)
    if flags:
        settings = apply_flags(settings, section, flags)
    return Context(settings=settings, secrets=secrets)


def bool_flag(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    """--name / --no-name, default None so config.yaml decides when neither is given."""
    parser.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=None, help=help)
