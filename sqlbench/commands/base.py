"""What every subcommand shares: settings + secrets from the global flags."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    from pathlib import Path

    from sqlbench.config import apply_flags, load_run_settings, load_secrets, load_settings

    secrets = load_secrets(getattr(args, "env_file", ".env"))
    stored = None
    if resume and (Path(resume) / "config.yaml").is_file():
        dropped: list[str] = []
        settings = load_run_settings(resume, dropped=dropped)
        try:  # as recorded, to name what changes now (diagnostic only: never fatal)
            stored = load_run_settings(resume, environ={})
        except Exception:  # noqa: BLE001 - e.g. a recorded value valid only with today's env
            stored = None
        say = [f"resuming {resume} with the settings it started with"]
        if getattr(args, "config", None):
            say.append(f"--config {args.config} is not used")
        if dropped:
            say.append(f"left out keys this version does not know: {', '.join(dropped)}")
        print("sqlbench: " + "; ".join(say), file=sys.stderr)
    else:
        if resume:  # a run that crashed before writing its settings
            print(f"sqlbench: {resume} has no stored settings; resuming with config.yaml and the flags given",
                  file=sys.stderr)
        settings = load_settings(getattr(args, "config", None))
    if top_flags:
        settings = apply_flags(settings, "", top_flags)
    if flags:
        settings = apply_flags(settings, section, flags)
    if stored is not None:
        changed = _changes(stored.public_dict(), settings.public_dict())
        if changed:
            print("sqlbench: changed from the run's settings (environment or flags given now): " + ", ".join(changed),
                  file=sys.stderr)
    if section:
        fold_gguf_file(settings, section)
    return Context(settings=settings, secrets=secrets)


def _changes(before: dict, after: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            out += _changes(old, value, f"{prefix}{key}.")
        elif value != old:
            out.append(f"{prefix}{key} {old!r} -> {value!r}")
    return out


def bool_flag(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    """--name / --no-name, default None so config.yaml decides when neither is given."""
    parser.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=None, help=help)


TEST_DATABASES_HELP = ("also judge on generated test databases when a task's context carries rows "
                       "(validate.test_databases_with_rows; it changes verdicts). Schema-only contexts always get them")


def test_databases_flag(parser) -> None:
    parser.add_argument("--test-databases", action="store_true", default=None, help=TEST_DATABASES_HELP)


def with_validate_flags(ctx: Context, args: argparse.Namespace) -> Context:
    """Overlay --test-databases on validate.* (distill, eval and train judge with those settings)."""
    if getattr(args, "test_databases", None):
        from sqlbench.config import apply_flags

        ctx.settings = apply_flags(ctx.settings, "validate", {"test_databases_with_rows": True})
    return ctx


def fold_gguf_file(settings: Any, section: str) -> None:
    """Fold ``<section>.gguf_file`` (config key or ``--gguf-file``) into ``<section>.model``,
    so a run records one spec and a resume needs no flag. Only a local model can be a GGUF:
    distill's other providers name a model on a server."""
    sec = getattr(settings, section, None)
    name = getattr(sec, "gguf_file", None)
    if not name:
        return
    if section == "distill":
        from sqlbench.errors import ConfigError
        from sqlbench.providers import canonical_name

        provider = canonical_name(sec.provider)
        if provider != "Transformers":
            raise ConfigError(f"--gguf-file (distill.gguf_file) is for the local Transformers teacher, "
                              f"not --provider {provider}")
    from sqlbench.inference.models import with_gguf_file

    sec.model = with_gguf_file(sec.model, name)
    sec.gguf_file = None
