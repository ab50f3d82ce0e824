"""Job forms: labelled fields, read into the CLI's flags, checked by the engine before a
job starts, and the field at fault highlighted.

A field's label is its border title, so a labelled form costs no extra line at 80x24.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from textual.widget import Widget
from textual.widgets import Input, Select

from sqlbench.commands.preflight import FieldError as FormError  # one shape for the form's and the engine's refusals

ERROR_CLASS = "field-error"


@dataclass(frozen=True)
class Field:
    key: str  # the settings key (its flag is --key-with-dashes)
    label: str
    kind: str = "text"  # text | int | float | select
    placeholder: str = ""
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


def field_id(prefix: str, key: str) -> str:
    return f"{prefix}-{key.replace('_', '-')}"


def build(prefix: str, field: Field, value: Any = None) -> Widget:
    fid = field_id(prefix, field.key)
    if field.kind == "select":
        choices = list(field.choices)
        if value is not None and str(value) not in choices:
            choices.append(str(value))  # shown as it is (and refused on Start), never replaced
        w: Widget = Select([(c, c) for c in choices], id=fid, allow_blank=False,
                           value=str(value) if value is not None else choices[0])
    else:
        w = Input("" if value is None else str(value), placeholder=field.placeholder, id=fid,
                  type="integer" if field.kind == "int" else "number" if field.kind == "float" else "text")
    w.border_title = field.label
    w.tooltip = f"{field.label} ({field.flag}); blank: config.yaml decides" if field.kind != "select" else field.label
    return w


def label_selects(root: Widget) -> None:
    """A Select draws its border on its inner SelectCurrent: give the label to it."""
    from textual.widgets._select import SelectCurrent

    for sel in root.query(Select):
        if sel.border_title:
            for cur in sel.query(SelectCurrent):
                cur.border_title = sel.border_title



def read(root: Widget, prefix: str, fields: Iterable[Field]) -> tuple[dict[str, Any], FormError | None]:
    """The form as typed flags (blank fields left out: config.yaml decides)."""
    flags: dict[str, Any] = {}
    for f in fields:
        w = root.query_one("#" + field_id(prefix, f.key))
        raw = w.value if isinstance(w, Select) else w.value.strip()  # type: ignore[union-attr]
        if raw in ("", None, Select.BLANK):
            continue
        try:
            flags[f.key] = int(raw) if f.kind == "int" else float(raw) if f.kind == "float" else str(raw)
        except ValueError:
            word = "a whole number" if f.kind == "int" else "a number"
            return flags, FormError(f.key, f"{f.flag} must be {word} (got {raw!r})")
    return flags, None


def to_args(flags: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key, value in flags.items():
        args += ["--" + key.replace("_", "-"), str(value)]
    return args


def show_error(root: Widget, prefix: str, error: Any) -> None:
    """Highlight the field at fault (its key names it) and put the cursor in it."""
    clear_errors(root)
    hits = root.query("#" + field_id(prefix, error.field))
    if hits:
        w = hits.first()
        w.add_class(ERROR_CLASS)
        w.border_subtitle = "fix me"
        w.focus()
    root.app.notify(str(error), title="not started", severity="error", timeout=8)


def clear_errors(root: Widget) -> None:
    for w in root.query("." + ERROR_CLASS):
        w.remove_class(ERROR_CLASS)
        w.border_subtitle = ""
