"""The `sqlbench` command: argument parsing only.

Every subcommand module under ``sqlbench.commands`` is light (argparse + config); the
engine modules it calls import torch & co. inside the functions that need them, so
``sqlbench --help`` and the TUI's first frame stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable

from sqlbench import __version__
from sqlbench.errors import EXIT_FAILED, EXIT_INTERRUPTED, SqlbenchError
from sqlbench.redact import RedactingStream

# (name, module, one-line help) — the order is the order of `sqlbench --help`.
COMMANDS: list[tuple[str, str, str]] = [
    ("distill", "sqlbench.commands.distill", "ask a teacher LLM for <think> reasoning + <sql>, validate, save, publish"),
    ("train", "sqlbench.commands.train", "fine-tune a student with SFT and GRPO on SQL rewards"),
    ("validate", "sqlbench.commands.validate", "judge answers (or gold queries) by running them in the SQL sandbox"),
    ("eval", "sqlbench.commands.eval", "execution accuracy of a model on a dataset"),
    ("chat", "sqlbench.commands.chat", "chat with a model; optionally run its SQL read-only on a database"),
    ("serve", "sqlbench.commands.serve", "serve a model behind an OpenAI-compatible chat API"),
    ("tiny-model", "sqlbench.commands.tiny_model", "build the tiny offline student (tokenizer + random Qwen2), optionally warm it up"),
    ("runs", "sqlbench.commands.runs", "list run directories with their status"),
]

DESCRIPTION = """\
sqlbench: teach small language models to write correct SQL with visible reasoning.

Run `sqlbench` with no command to open the interactive workbench (Textual UI).
Settings come from config.yaml (see template.config.yaml), secrets from .env
(API_KEY, HF_TOKEN, GROQ_API_KEY; see template.env). Every job writes a run
directory under runs/ that both the CLI and the workbench can follow."""


def _invoked(argv: list[str]) -> set[str]:
    names = {name for name, _, _ in COMMANDS}
    return {a for a in argv if a in names}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; given ``argv``, only the subcommand it names is configured (its
    module imported), so `sqlbench` alone, which opens the workbench, imports none."""
    parser = argparse.ArgumentParser(
        prog="sqlbench", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sqlbench {__version__}")
    parser.add_argument("--config", metavar="PATH", help="settings file (default: ./config.yaml if present)")
    parser.add_argument("--env-file", metavar="PATH", default=".env", help="secrets file (default: .env)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    wanted = None if argv is None else _invoked(argv)
    for name, module_name, help_text in COMMANDS:
        if wanted is not None and name not in wanted:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        sp = sub.add_parser(
            name,
            help=help_text,
            description=(module.__doc__ or help_text).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None, *, open_ui: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run a subcommand. With none, call ``open_ui`` (the ``sqlbench`` console script,
    which lives in the UI package, passes the workbench); the engine itself never imports
    the UI, so ``python -m sqlbench`` alone prints this help.

    Exit codes (the README's table): 0 done, 1 the job failed (an unexpected error; its
    traceback is printed, redacted), 2 a mistake the user can fix (one line), 130
    interrupted (SIGINT/SIGTERM; the run is resumable)."""
    argv = sys.argv[1:] if argv is None else argv
    if open_ui is not None and not _invoked(argv):
        return _run(argv, open_ui)  # the workbench owns the terminal: no wrapped streams under Textual
    streams = sys.stdout, sys.stderr
    # every line a command prints (its errors, progress, tracebacks, a workbench job's
    # stdout.log) passes the one redaction point
    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    try:
        return _run(argv, open_ui)
    finally:
        for wrapped in (sys.stdout, sys.stderr):
            try:
                wrapped.flush()
            except (OSError, ValueError):
                pass
        sys.stdout, sys.stderr = streams


def _run(argv: list[str], open_ui: Callable[[argparse.Namespace], int] | None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    args._argv = list(argv)  # as given, global flags included: a launcher re-runs the same command
    try:
        if args.command is None:
            if open_ui is None:
                parser.print_help()
                return 0
            return open_ui(args)
        return int(args._run(args) or 0)
    except SqlbenchError as e:
        prefix = f"sqlbench {args.command}" if args.command else "sqlbench"
        print(f"{prefix}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - a bug: show it (redacted by the stream), exit 1
        import traceback

        traceback.print_exc(file=sys.stderr)
        return EXIT_FAILED
