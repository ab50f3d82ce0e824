"""The workbench app (filled in by the TUI work)."""

from __future__ import annotations

import argparse


def run_app(args: argparse.Namespace | None = None) -> int:
    from textual.app import App
    from textual.widgets import Footer, Header, Static

    class Workbench(App):
        TITLE = "sqlbench"

        def compose(self):
            yield Header()
            yield Static("sqlbench workbench")
            yield Footer()

    Workbench().run()
    return 0
