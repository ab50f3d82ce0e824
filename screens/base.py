"""What every view of the workbench shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Vertical

if TYPE_CHECKING:
    from screens.app import SqlbenchApp


class View(Vertical):
    """One tab of the workbench. ``HELP`` is the markdown F1 shows for it."""

    HELP = ""
    FOCUS = ""  # selector of the widget that takes focus when the tab opens (never a text
    # field, except on Chat: number keys switch tabs only when no text field has focus)

    @property
    def workbench(self) -> "SqlbenchApp":
        return self.app  # type: ignore[return-value]

    def help_markdown(self) -> str:
        keys = []
        for b in self.BINDINGS:  # type: ignore[attr-defined]
            key, desc = (b.key, b.description) if hasattr(b, "key") else (b[0], b[2] if len(b) > 2 else "")
            if desc:
                keys.append(f"| `{key}` | {desc} |")
        table = ("\n\n| key | action |\n|---|---|\n" + "\n".join(keys)) if keys else ""
        return self.HELP.strip() + table
