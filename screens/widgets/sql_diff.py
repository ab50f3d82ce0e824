"""A sample's detail: question, schema, the teacher's reasoning, candidate SQL beside
gold SQL (highlighted), the validator's detail and both result sets when they differ."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from sqlbench.runs.outcome import sample_outcome
from screens.widgets.badge import STYLES, badge


def sql_syntax(sql: str):
    if not (sql or "").strip():
        return Text("no SQL found", style="bold yellow")
    from rich.syntax import Syntax  # pygments: ~0.2 s of imports, paid when SQL is first shown

    return Syntax(sql.strip(), "sql", theme="monokai", word_wrap=True, background_color="default")


def select_names(sql: str, n: int) -> list[str]:
    """The output column names of a SELECT (its aliases or expressions), for headers;
    ``col 1``… where the SQL cannot say."""
    names: list[str] = []
    try:
        import sqlglot

        tree = sqlglot.parse_one(sql or "", read="sqlite")
        names = [e.alias_or_name or e.sql(dialect="sqlite") for e in getattr(tree, "selects", [])]
    except Exception:  # noqa: BLE001 - any SQL at all may come here; headers are a courtesy
        names = []
    if len(names) != n or any(x == "*" for x in names):
        names = [f"col {i}" for i in range(1, n + 1)]
    return names


def result_table(title: str, rows: list[list[Any]] | None, limit: int = 10, sql: str = "") -> Table:
    table = Table(title=title, show_header=True, expand=True, title_justify="left", header_style="bold dim")
    rows = rows or []
    width = max((len(r) for r in rows), default=1)
    for name in select_names(sql, width):
        table.add_column(name)
    for r in rows[:limit]:
        table.add_row(*(repr(v) if not isinstance(v, str) else v for v in r))
    if len(rows) > limit:
        table.add_row(*([f"… {len(rows) - limit} more"] + [""] * (width - 1)))
    if not rows:
        table.add_row("(empty)")
    return table


def _secs(value: Any) -> str:
    return f"{value:.2f}s" if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


class SampleDetail(VerticalScroll):
    """Scrollable detail of one sample record (as written to samples.jsonl)."""

    DEFAULT_CSS = """
    SampleDetail { padding: 0 1; }
    SampleDetail .label { color: $text-muted; text-style: bold; margin-top: 1; }
    SampleDetail #sd-sql { height: auto; }
    SampleDetail #sd-sql > Static { width: 1fr; height: auto; padding: 0 1 0 0; }
    SampleDetail #sd-results { height: auto; }
    SampleDetail #sd-results > Static { width: 1fr; height: auto; }
    """

    def compose(self):
        from textual.widgets import Collapsible

        # what decides the verdict first: the question, the two queries, the verdict and
        # its results; the reasoning after, the (often long) schema folded at the end
        yield Static(id="sd-head")
        yield Static("Question", classes="label")
        yield Static(id="sd-question")
        with Horizontal(id="sd-sql"):
            yield Static(id="sd-candidate")
            yield Static(id="sd-gold")
        yield Static("Validator", classes="label")
        yield Static(id="sd-detail")
        with Horizontal(id="sd-results"):
            yield Static(id="sd-got")
            yield Static(id="sd-expected")
        yield Static("Teacher's reasoning", classes="label")
        yield Static(id="sd-think")
        with Collapsible(title="Schema", collapsed=True, id="sd-schema-box"):
            yield Static(id="sd-schema")

    def show(self, rec: dict[str, Any] | None, verdict: dict[str, Any] | None = None) -> None:
        """``verdict`` overrides the recorded one (after a re-validation)."""
        if rec is None:
            self.query_one("#sd-head", Static).update(Text("Select a sample to see its detail.", style="dim"))
            for wid in ("question", "schema", "think", "candidate", "gold", "detail", "got", "expected"):
                self.query_one(f"#sd-{wid}", Static).update("")
            return
        verdict = verdict or rec.get("verdict") or {}
        outcome = sample_outcome({**rec, "verdict": verdict, "valid": verdict.get("valid", rec.get("valid")),
                                  "reason": verdict.get("reason", rec.get("reason"))})
        head = Text.assemble(Text(f" {outcome} ", style=STYLES.get(outcome, "bold") + " reverse"), "  ",
                             (str(rec.get("task_id", "")), "bold"),
                             (f"   latency {_secs(rec.get('latency_s'))} · attempts {rec.get('attempts', 1)}", "dim"))
        self.query_one("#sd-head", Static).update(head)
        self.query_one("#sd-question", Static).update(Text(str(rec.get("question") or "")))
        context = str(rec.get("context") or "")
        self.query_one("#sd-schema", Static).update(
            sql_syntax(context) if context.strip() else Text("(no schema recorded)", style="dim"))
        think = rec.get("think") or ""
        raw = str(rec.get("completion") or "").strip()
        if think:
            shown = Text(think, style="italic")
        elif raw:  # no <think> block could be read: what the teacher wrote says why
            shown = Text.assemble(("no <think> block; the raw answer:\n", "dim"), (raw, ""))
        else:
            shown = Text("(none)", style="dim")
        self.query_one("#sd-think", Static).update(shown)
        cand = verdict.get("sql") or rec.get("sql") or ""
        self.query_one("#sd-candidate", Static).update(Group(Text("Candidate SQL", style="bold"), sql_syntax(cand)))
        self.query_one("#sd-gold", Static).update(Group(Text("Gold SQL", style="bold"), sql_syntax(str(rec.get("gold_sql") or ""))))
        detail = verdict.get("detail") or rec.get("error") or ""
        self.query_one("#sd-detail", Static).update(
            Text.assemble(badge(verdict.get("reason") or outcome), "  ", detail or "")
        )
        got, expected = verdict.get("got"), verdict.get("expected")
        differ = got is not None or expected is not None
        self.query_one("#sd-got", Static).update(result_table("Candidate result", got, sql=cand) if differ else "")
        self.query_one("#sd-expected", Static).update(
            result_table("Gold result", expected, sql=str(rec.get("gold_sql") or "")) if differ else "")
