"""Small modal screens shared by every view: confirm, help, sample detail."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Markdown

from screens.widgets.sql_diff import SampleDetail


class ConfirmScreen(ModalScreen[bool]):
    """Yes / no; dismisses with True only on an explicit yes."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str, yes: str = "Yes", variant: str = "error") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.variant = variant

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Label(self.question, id="confirm-question")
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant=self.variant, id="confirm-yes")  # type: ignore[arg-type]
                yield Button("Cancel", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "app.pop_screen", "Close")]

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="dialog"):
            yield Markdown(self.markdown)
        yield Footer()


class SampleScreen(ModalScreen[None]):
    """One sample's full detail over the current screen."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close")]

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(id="sample-dialog", classes="dialog"):
            yield SampleDetail(id="sample-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SampleDetail).show(self.record)


class CompletionScreen(ModalScreen[None]):
    """One sampled training completion in full: prompt, completion, gold SQL and every
    reward function's score."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close")]

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        from rich.syntax import Syntax
        from rich.text import Text
        from textual.widgets import Static

        rec = self.record
        scores = rec.get("rewards") or {}
        head = Text.assemble(("step ", "dim"), (str(rec.get("step", "?")), "bold"), ("  stage ", "dim"),
                             (str(rec.get("stage", "?")), "bold"))
        adv = rec.get("advantage")
        if isinstance(adv, (int, float)):
            head.append(f"  advantage {float(adv):+.3f}", style="bold")
        score_line = Text()
        for k, v in scores.items():
            if isinstance(v, (int, float)):
                score_line.append(f"{k} ", style="dim")
                score_line.append(f"{float(v):.3f}   ", style="bold green" if float(v) > 0 else "bold red")
        with VerticalScroll(id="completion-dialog", classes="dialog"):
            yield Static(head, id="cd-head")
            yield Static(score_line or Text("no per-reward scores recorded", style="dim"), id="cd-scores")
            yield Label("Prompt", classes="cd-title")
            yield Static(Text(str(rec.get("prompt") or "(not recorded)")), id="cd-prompt")
            yield Label("Completion", classes="cd-title")
            yield Static(Text(str(rec.get("completion") or "(empty)")), id="cd-completion")
            yield Label("Gold SQL", classes="cd-title")
            gold = str(rec.get("gold_sql") or "")
            yield Static(Syntax(gold, "sql", word_wrap=True, theme="ansi_dark") if gold
                         else Text("(not recorded)", style="dim"), id="cd-gold")
        yield Footer()


class CompareScreen(ModalScreen["list | None"]):
    """Choose the train runs to overlay on the Train charts (space toggles, enter keeps)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "keep", "Compare")]

    def __init__(self, runs: list, chosen: list, most: int) -> None:
        super().__init__()
        self.runs = list(runs)
        self.chosen = set(chosen)
        self.most = most

    def compose(self) -> ComposeResult:
        from textual.widgets import SelectionList

        with Vertical(id="compare-dialog", classes="dialog"):
            yield Label(f"Overlay up to {self.most} train runs on every chart (space toggles):")
            yield SelectionList(*[(p.name, str(p), p in self.chosen) for p in self.runs], id="compare-list")
            with Horizontal(classes="buttons"):
                yield Button("Compare", variant="primary", id="compare-ok")
                yield Button("None", id="compare-none")
                yield Button("Cancel", id="compare-cancel")
        yield Footer()

    def on_mount(self) -> None:
        from textual.widgets import SelectionList

        self.query_one(SelectionList).focus()

    def selected(self) -> list:
        from pathlib import Path

        from textual.widgets import SelectionList

        return [Path(v) for v in self.query_one(SelectionList).selected][:self.most]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "compare-ok":
            self.dismiss(self.selected())
        elif event.button.id == "compare-none":
            self.dismiss([])
        else:
            self.dismiss(None)

    def action_keep(self) -> None:
        self.dismiss(self.selected())

    def action_cancel(self) -> None:
        self.dismiss(None)
