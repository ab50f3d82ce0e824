"""Chat: ask a model (a run's output or any model folder) and run its SQL read-only."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Collapsible, DataTable, Input, Label, Static

from screens.actions import bindings
from screens.base import View
from screens.widgets.sql_diff import sql_syntax

FLUSH_S = 0.1  # stream deltas reach the screen at most ten times a second


class ChatTurn(Vertical):
    """One question and its streamed answer: thinking (dimmed, collapsible), SQL, results."""

    DEFAULT_CSS = "ChatTurn { height: auto; margin-bottom: 1; }"

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.parts: dict[str, str] = {"think": "", "sql": "", "text": ""}

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("› ", "bold cyan"), self.question), classes="chat-question")
        with Collapsible(title="thinking", collapsed=False, classes="chat-think-box"):
            yield Static("", classes="chat-think")
        yield Static("", classes="chat-sql")
        yield Static("", classes="chat-text")
        yield Label("", classes="chat-status")

    def add(self, deltas: list[tuple[str, str]]) -> None:
        for part, text in deltas:
            self.parts[part] = self.parts.get(part, "") + text
        self.query_one(".chat-think", Static).update(Text(self.parts["think"].strip(), style="dim italic"))
        if self.parts["sql"].strip():
            self.query_one(".chat-sql", Static).update(sql_syntax(self.parts["sql"]))
        if self.parts["text"].strip():
            self.query_one(".chat-text", Static).update(self.parts["text"].strip())

    def settle(self, think: str, sql: str) -> None:
        """Show the parsed answer (the SQL that runs) when it differs from what streamed:
        the live split cannot foresee every oddly tagged answer."""
        if sql and (sql, think) != (self.parts["sql"].strip(), self.parts["think"].strip()):
            self.parts.update(think=think, sql=sql)
            self.add([])

    def no_sql(self) -> None:
        """Said in words: an answer without parsable SQL runs nothing, and shows nothing."""
        self.mount(Static(Text("no SQL found in this answer (no <sql>…</sql> block): nothing was run",
                               style="bold yellow"), classes="chat-nosql"))

    def finish(self, status: str, *, collapse: bool = True) -> None:
        self.query_one(".chat-status", Label).update(Text(status, style="dim"))
        if collapse and self.parts["sql"].strip():
            self.query_one(Collapsible).collapsed = True  # the reasoning stays one key away

    def show_result(self, result: Any) -> None:
        if result.error:
            self.mount(Static(Text(result.error, style="red"), classes="chat-error"))
            return
        table = DataTable(classes="chat-results", zebra_stripes=True)
        self.mount(table)
        table.add_columns(*[str(c) for c in result.columns])
        for row in result.rows[:200]:
            table.add_row(*[str(v) for v in row])
        more = " (truncated)" if result.truncated else ""
        self.mount(Label(Text(f"{len(result.rows)} row(s){more} in {result.elapsed_ms:.0f} ms", style="dim")))


class ChatView(View):
    HELP = """
# Chat

Ask a model questions; it answers with its reasoning (dimmed, collapsible) and SQL.

* **Model**: a model folder, a train run's folder (its `model/` or last checkpoint), an
  adapter, a Hub id, or blank for the tiny offline student. **Load** reads it in the
  background (the screen stays responsive).
* **Database**: a SQLite/DuckDB file or `postgresql://` URL. The schema goes into every
  question, and each answer's SQL runs read-only; results appear under the answer.
* **Esc** cancels a generation; what was said so far stays in the conversation.
"""

    FOCUS = "#chat-log"
    BINDINGS = bindings("chat")  # the action registry: screens/actions.py

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            for w in (Input(placeholder="folder, run dir, Hub id (blank: tiny)", id="chat-model"),
                      Input(placeholder="SQLite/DuckDB file or postgresql://, opened read-only (optional)", id="chat-db"),
                      Input("0", id="chat-temperature", type="number", classes="chat-narrow"),
                      Input(id="chat-max-tokens", type="integer", classes="chat-narrow")):
                w.border_title = {"chat-model": "model", "chat-db": "database",
                                  "chat-temperature": "temperature", "chat-max-tokens": "max tokens"}[w.id or ""]
                yield w
            yield Button("Load", id="chat-load", variant="primary")
        yield Label("No model loaded — Load one, or just ask (loads the model above first).", id="chat-status")
        yield VerticalScroll(id="chat-log")
        yield Input(placeholder="Ask a question about the database…  (Enter to send, Esc to cancel)", id="chat-input")

    def on_mount(self) -> None:
        self.session: Any = None
        self.loaded_spec: tuple[str, str] | None = None
        self.generating = False
        self.current: ChatTurn | None = None
        s = self.workbench.settings.chat
        self.query_one("#chat-model", Input).value = s.model or ""
        self.query_one("#chat-db", Input).value = s.db or ""
        self.query_one("#chat-max-tokens", Input).value = str(s.max_new_tokens)
        self._load_lock = threading.Lock()
        self.answer_listeners: list[Any] = []  # one-shot callbacks(turn, answer, result) (Quickstart)

    def sampling(self) -> Any:
        """The workbench's settings with this screen's temperature (0: greedy, the default
        here) and max tokens, checked by the settings models; None (field outlined, toast)
        when refused."""
        from screens.widgets import form
        from sqlbench.config import apply_flags
        from sqlbench.errors import SqlbenchError
        from sqlbench.commands.preflight import FieldError

        settings = self.workbench.settings
        for fid, section, key, kind in (("chat-temperature", "", "temperature", float),
                                        ("chat-max-tokens", "chat", "max_new_tokens", int)):
            raw = self.query_one(f"#{fid}", Input).value.strip()
            if not raw:
                continue
            try:
                settings = apply_flags(settings, section, {key: kind(raw)})
            except (ValueError, SqlbenchError) as e:
                field = "temperature" if key == "temperature" else "max_tokens"
                form.show_error(self, "chat", FieldError(field, str(e).replace("command line: ", "")
                                                         if isinstance(e, SqlbenchError) else f"{key}: {raw!r}"))
                return None
        form.clear_errors(self)
        return settings

    def spec(self) -> tuple[str, str]:
        return (self.query_one("#chat-model", Input).value.strip(), self.query_one("#chat-db", Input).value.strip())

    def set_model(self, model: str, db: str | None = None) -> None:
        self.query_one("#chat-model", Input).value = model
        if db is not None:
            self.query_one("#chat-db", Input).value = db

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#chat-status", Label).update(Text(text, style=style))

    # ---- loading ----------------------------------------------------------------------
    def action_load(self, then_ask: str | None = None) -> None:
        model, db = self.spec()
        self._status(f"loading {model or 'the tiny offline student'}…", "cyan")
        self._load(model, db, then_ask)
        self.action_ask_focus()  # what the user types next is the question, never the path

    @work(thread=True, exclusive=True, group="chat-load")
    def _load(self, model: str, db: str, then_ask: str | None) -> None:
        from sqlbench.inference.chat import ChatSession
        from sqlbench.training.tiny import default_tiny_model

        t0 = time.perf_counter()
        try:
            with self._load_lock:
                if self.session is not None:
                    self.session.close()
                session = ChatSession(model or None, settings=self.workbench.settings, db=db or None,
                                      tiny=default_tiny_model)
        except Exception as e:  # a bad path/URL is the user's: show it, keep the screen usable
            self.app.call_from_thread(self._load_failed, f"{type(e).__name__}: {e}" if not str(e) else str(e))
            return
        self.app.call_from_thread(self._loaded, session, (model, db), time.perf_counter() - t0, then_ask)

    def _load_failed(self, message: str) -> None:
        self.session = None
        self.loaded_spec = None
        self._status(message, "red")
        self.app.notify(message, title="Chat", severity="error")
        listeners, self.answer_listeners = self.answer_listeners, []
        for listener in listeners:  # no answer will come
            listener(None, None, None)

    def _loaded(self, session: Any, spec: tuple[str, str], seconds: float, then_ask: str | None) -> None:
        self.session, self.loaded_spec = session, spec
        model, db = spec
        where = f" on {db} (read-only)" if db else ""
        self._status(f"{model or 'tiny offline student'} loaded in {seconds:.1f}s{where}", "green")
        if then_ask:
            self.ask(then_ask)

    # ---- asking -----------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "chat-input":
            question = event.value.strip()
            if question:
                event.input.value = ""
                self.ask(question)
        elif event.input.id in ("chat-model", "chat-db"):
            self.action_load()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "chat-load":
            self.action_load()

    def ask(self, question: str) -> None:
        if self.generating:
            self.app.notify("Still answering — Esc cancels", severity="warning")
            return
        if self.session is None or self.loaded_spec != self.spec():
            self.action_load(then_ask=question)
            return
        settings = self.sampling()
        if settings is None:
            return
        self.session.settings = settings  # sampling applies from this question on, no reload
        self.generating = True
        turn = ChatTurn(question)
        self.current = turn
        log = self.query_one("#chat-log", VerticalScroll)
        log.mount(turn)
        log.scroll_end(animate=False)
        self._generate(self.session, turn, question)

    @work(thread=True, exclusive=True, group="chat-generate")
    def _generate(self, session: Any, turn: ChatTurn, question: str) -> None:
        pending: list[tuple[str, str]] = []
        last = time.perf_counter()
        t0 = last
        status = "done"
        try:
            for d in session.stream(question):
                pending.append((d.part, d.text))
                now = time.perf_counter()
                if now - last >= FLUSH_S:
                    batch, pending = pending, []
                    self.app.call_from_thread(self._add, turn, batch)
                    last = now
            if session.last_result is not None and session.last_result.finish_reason == "cancelled":
                status = "cancelled"
        except Exception as e:
            pending.append(("text", f"\n[error] {e}"))
            status = "error"
        self.app.call_from_thread(self._add, turn, pending)
        result = None
        answer = session.last_answer
        if status == "done" and session.db is not None and answer is not None and answer.sql.strip():
            result = session.run_sql(answer.sql)
        r = session.last_result
        stats = f"{status} · {time.perf_counter() - t0:.1f}s"
        if r is not None:
            stats += f" · {r.completion_tokens} tokens ({r.finish_reason})"
        self.app.call_from_thread(self._done, turn, stats, result, answer if status == "done" else None)

    def _add(self, turn: ChatTurn, batch: list[tuple[str, str]]) -> None:
        if batch:
            turn.add(batch)
            self.query_one("#chat-log", VerticalScroll).scroll_end(animate=False)

    def _done(self, turn: ChatTurn, stats: str, result: Any, answer: Any = None) -> None:
        self.generating = False
        if answer is not None:
            turn.settle(answer.think, answer.sql)
        turn.finish(stats)
        if answer is not None and not answer.sql.strip():
            turn.no_sql()
        if result is not None:
            turn.show_result(result)
        self.query_one("#chat-log", VerticalScroll).scroll_end(animate=False)
        listeners, self.answer_listeners = self.answer_listeners, []
        for listener in listeners:
            listener(turn, answer, result)

    def action_ask_focus(self) -> None:
        self.query_one("#chat-input", Input).focus()

    def action_cancel(self) -> None:
        if self.generating and self.session is not None:
            self.session.cancel()
            self.app.notify("Generation cancelled")

    def action_reset(self) -> None:
        if self.session is not None:
            self.session.reset()
        self.query_one("#chat-log", VerticalScroll).remove_children()
        self._status("New conversation", "dim")
