"""Chat with a model; optionally run its SQL read-only on a database.

The answer streams as it is generated: the reasoning dimmed, the SQL syntax-highlighted.
With --db (a SQLite file, a DuckDB file or a postgresql:// URL) the database's schema
goes into the prompt and the answer's SQL runs read-only, with the validator's time
and row limits; the rows are shown as a table. Writes are refused.

REPL commands: /schema, /reset, /run (re-run the last SQL), /sql QUERY (run your own),
/exit. Ctrl-C stops a generation; Ctrl-D or /exit leaves.

  sqlbench chat --model runs/<train-run> --db cycling.sqlite
  sqlbench chat --once "Who won the omnium at the 2016 Olympics?" --db cycling.sqlite --json"""

from __future__ import annotations

import argparse
from typing import Any

from sqlbench.commands.base import load_context

HELP = "/schema  /reset  /run  /sql QUERY  /exit"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="M", default=None,
                        help="model folder, train run directory, adapter folder, .gguf file, Hub id or a named "
                             "student: tiny, smollm2-135m (default: config chat.model, else smollm2-135m when "
                             "present offline, else the tiny offline student)")
    parser.add_argument("--gguf-file", metavar="NAME", default=None,
                        help="the GGUF file to use when --model's folder or Hub repo holds several")
    parser.add_argument("--db", metavar="DB", default=None,
                        help="SQLite/DuckDB file or postgresql:// URL, opened read-only (default: config chat.db)")
    parser.add_argument("--once", metavar="QUESTION", default=None, help="answer one question and exit")
    parser.add_argument("--json", action="store_true", help="with --once: print one JSON object instead of rich output")
    parser.add_argument("--max-new-tokens", type=int, default=None, metavar="N", help="answer length (default 512)")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature (0: greedy)")
    parser.add_argument("--system-prompt", default=None, metavar="TEXT", help="replace the default system prompt")
    parser.add_argument("--device", default=None, metavar="D",
                        help="torch device: auto (CUDA when present, else CPU), cpu, cuda, cuda:N, mps "
                             "(default: config device, auto)")


def run(args: argparse.Namespace) -> int:
    import sys

    from sqlbench.inference.chat import ChatSession
    from sqlbench.inference.dbconn import connect

    from sqlbench.inference.students import default_student
    from sqlbench.training.tiny import default_tiny_model

    ctx = load_context(args, "chat", {"model": args.model, "gguf_file": args.gguf_file, "db": args.db,
                                      "max_new_tokens": args.max_new_tokens},
                       top_flags={"temperature": args.temperature, "system_prompt": args.system_prompt,
                                  "device": args.device})
    s = ctx.settings
    s.chat.model = s.chat.model or default_student(s.cache_dir)  # --gguf-file is folded into model already
    # open the database first: a wrong --db fails fast, before the model loads
    v = s.validate_
    db = connect(s.chat.db, timeout=v.timeout, max_rows=v.max_rows, max_memory_mb=v.max_memory_mb) if s.chat.db else None
    if not args.json:
        print(f"sqlbench chat: loading {s.chat.model or 'the tiny offline student'} ...", file=sys.stderr, flush=True)
    session = ChatSession(s.chat.model, settings=s, db=db, tiny=default_tiny_model)
    try:
        if args.once is not None:
            return _once(session, args.once, as_json=args.json)
        return _repl(session)
    finally:
        session.close()


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _answer(session: Any, question: str, console: Any) -> bool:
    """Stream one answer live; False when interrupted."""
    from rich.console import Group
    from rich.live import Live
    from rich.syntax import Syntax
    from rich.text import Text

    parts = {"think": "", "sql": "", "text": ""}

    def view():
        items = []
        if parts["think"].strip():
            items.append(Text(parts["think"].strip(), style="dim italic"))
        if parts["text"].strip():
            items.append(Text(parts["text"].strip()))
        if parts["sql"].strip():
            items.append(Syntax(parts["sql"].strip(), "sql", theme="ansi_dark", word_wrap=True))
        return Group(*items) if items else Text("…", style="dim")

    stream = session.stream(question)
    with Live(view(), console=console, refresh_per_second=12, transient=False, vertical_overflow="visible") as live:
        try:
            for d in stream:
                parts[d.part] += d.text
                live.update(view())
            ans = session.last_answer
            if ans is not None and ans.sql and (ans.sql, ans.think) != (parts["sql"].strip(), parts["think"].strip()):
                # an oddly tagged answer: show exactly the parsed parts, the SQL that runs
                parts.update(think=ans.think, sql=ans.sql)
                live.update(view())
        except KeyboardInterrupt:
            session.cancel()
            stream.close()
            live.update(view())
            console.print("[yellow]stopped[/]")
            return False
    return True


def _show_result(result: Any, console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    if not result.ok:
        console.print(result.error, style="red", markup=False)
        return
    table = Table(show_lines=False, header_style="bold")
    for c in result.columns:
        table.add_column(Text(str(c)))
    for row in result.rows[:200]:  # values are data, never rich markup
        table.add_row(*(Text("NULL", style="dim") if v is None else Text(str(v)) for v in row))
    console.print(table)
    more = " (truncated at the row limit)" if result.truncated else ""
    shown = f", first 200 shown" if len(result.rows) > 200 else ""
    console.print(f"[dim]{len(result.rows)} row(s){shown}{more} in {result.elapsed_ms:.0f} ms[/]")


def _once(session: Any, question: str, *, as_json: bool) -> int:
    import json

    if as_json:
        answer = session.ask(question)
        out: dict[str, Any] = {"question": question, "think": answer.think, "sql": answer.sql,
                               "well_formed": answer.well_formed,
                               "finish_reason": session.last_result.finish_reason if session.last_result else None}
        if session.db is not None:
            r = session.run_sql() if answer.sql else None
            out["result"] = None if r is None else {
                "columns": r.columns, "rows": [list(x) for x in r.rows], "truncated": r.truncated,
                "error": r.error, "refused": r.refused}
        print(json.dumps(out, default=str))
        return 0
    console = _console()
    _answer(session, question, console)
    if session.db is not None and session.last_answer and session.last_answer.sql:
        _show_result(session.run_sql(), console)
    return 0


def _repl(session: Any) -> int:
    from rich.syntax import Syntax
    from rich.text import Text

    console = _console()
    where = f" on {session.db!r}" if session.db else ""
    console.print(Text.assemble(("sqlbench chat", "bold"), f"{where}. {HELP}"))
    while True:
        try:
            line = console.input("[bold cyan]you>[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not line:
            continue
        if line in ("/exit", "/quit"):
            return 0
        if line == "/reset":
            session.reset()
            console.print("[dim]conversation cleared[/]")
        elif line == "/schema":
            if session.schema_text:
                console.print(Syntax(session.schema_text, "sql", theme="ansi_dark", word_wrap=True))
            else:
                console.print("[dim]no database connected (start with --db)[/]")
        elif line == "/run":
            _show_result(session.run_sql(), console)
        elif line.startswith("/sql"):
            _show_result(session.run_sql(line[4:].strip()), console)
        elif line.startswith("/"):
            console.print(f"unknown command {line.split()[0]}; {HELP}", style="yellow", markup=False)
        else:
            from sqlbench.errors import SqlbenchError

            try:
                answered = _answer(session, line, console)
            except SqlbenchError as e:  # e.g. the prompt does not fit: say so, keep the REPL
                console.print(str(e), style="red", markup=False)
                continue
            if answered and session.db is not None and session.last_answer.sql:
                _show_result(session.run_sql(), console)
