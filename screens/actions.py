"""Every action of the workbench, once: its id, default keys, footer label and palette
text. The app's and each view's bindings, the footer, F1 help and the command palette
are all built from this table, and ``keys:`` in config.yaml remaps an action by its id.

Only ``textual.binding`` is imported here: the Runs tab builds its bindings from this
table before the first frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

# (tab id, title); the number of a tab is its position
TABS = (
    ("runs", "Runs"),
    ("config", "Config"),
    ("distill", "Distill"),
    ("rejected", "Rejected"),
    ("train", "Train"),
    ("chat", "Chat"),
    ("quickstart", "Quickstart"),
)

# What alt+1…7 arrive as where the terminal sends ESC+digit (tmux, xterm) and Textual
# reads it as a macOS option-key character: bound to the tabs so they never type ¡ or ¶.
ESC_DIGITS = ("inverted_exclamation_mark", "trade_mark_sign", "pound_sign", "cent_sign", "infinity",
              "section_sign", "pilcrow_sign")


@dataclass(frozen=True)
class Action:
    id: str  # stable name: what config.yaml's keys: section remaps
    keys: str  # default keys, comma-separated (Textual key names)
    action: str  # the Textual action run on the scope's view (or the app)
    label: str  # footer / help
    help: str = ""  # palette line
    scope: str = "app"  # "app" or a tab id
    footer: bool = True
    priority: bool = False  # also while a text field has focus
    palette: bool = True
    starts_job: bool = False  # asks first: no key alone ever starts a job


ACTIONS: tuple[Action, ...] = (
    *(Action(f"tab.{tab}", f"f{i + 1}", f"show('{tab}')", title, f"go to the {title} screen", footer=False,
             priority=True) for i, (tab, title) in enumerate(TABS, 1)),
    Action("app.help", "f1", "help", "Help", "help for this screen, and every key"),
    Action("app.quit", "ctrl+q", "quit", "Quit", "quit (jobs keep running)", priority=True),
    # Runs
    Action("runs.open", "enter", "open_run", "Open", "follow the selected run on Distill or Train", "runs"),
    Action("runs.new_distill", "n", "new_distill", "New distill", "the Distill form", "runs"),
    Action("runs.new_train", "t", "new_train", "New train", "the Train form", "runs"),
    Action("runs.resume", "r", "resume_run", "Resume", "rerun an interrupted run with its --run-dir (asks first)",
           "runs", starts_job=True),
    Action("runs.stop", "s", "stop_run", "Stop", "SIGTERM the selected run (asks first)", "runs"),
    Action("runs.refresh", "ctrl+r", "refresh", "Refresh", "rescan the runs folder", "runs"),
    # Config
    Action("config.save", "ctrl+s", "save", "Save", "write config.yaml (and secrets to .env)", "config"),
    Action("config.validate", "ctrl+t", "validate", "Validate", "check the form with the engine's settings models",
           "config"),
    # Distill
    Action("distill.start", "ctrl+s", "confirm_start", "Start…", "a new distillation from the form (asks first)", "distill",
           starts_job=True),
    Action("distill.pause", "p", "pause", "Pause/resume", "pause or resume the followed distillation", "distill"),
    Action("distill.stop", "s", "stop", "Stop", "SIGTERM the followed distillation (asks first)", "distill"),
    Action("distill.rejected", "x", "rejected", "Rejected", "this run's rejected samples", "distill"),
    # Rejected
    Action("rejected.revalidate", "v", "revalidate", "Re-validate", "run the validator again on the selected sample",
           "rejected"),
    Action("rejected.export", "e", "export", "Export", "write the filtered samples to a JSONL file", "rejected"),
    Action("rejected.search", "slash", "search", "Search", "search question, SQL and detail", "rejected"),
    Action("rejected.reload", "ctrl+r", "reload", "Reload", "read the run again", "rejected"),
    # Train
    Action("train.start", "ctrl+s", "confirm_start", "Start…", "a new training run from the form (asks first)", "train",
           starts_job=True),
    Action("train.stop", "s", "stop", "Stop", "SIGTERM the followed training run (asks first)", "train"),
    Action("train.filter", "slash", "filter", "Metrics", "type to choose which curves show", "train"),
    Action("train.smooth", "m", "smooth", "Smooth", "EMA smoothing of the curves on/off", "train"),
    Action("train.log", "l", "log_scale", "Log y", "log scale on/off", "train"),
    Action("train.compare", "c", "compare", "Compare…", "overlay other train runs, metric by metric", "train"),
    Action("train.completion", "o", "open_completion", "Open", "the selected completion in full", "train"),
    # Chat
    Action("chat.cancel", "escape", "cancel", "Cancel", "stop the answer being generated", "chat"),
    Action("chat.ask", "slash", "ask_focus", "Ask", "put the cursor in the question box", "chat"),
    Action("chat.load", "ctrl+l", "load", "Load model", "load the model named on the Chat screen", "chat"),
    Action("chat.reset", "ctrl+n", "reset", "New conversation", "forget the conversation so far", "chat"),
    # Quickstart
    Action("quickstart.run", "ctrl+r", "confirm_start", "Run quickstart…", "tiny model → distill → GRPO → chat (asks first)",
           "quickstart", starts_job=True),
)

BY_ID = {a.id: a for a in ACTIONS}


def bindings(scope: str) -> list[Binding]:
    """The Textual bindings of one scope, each carrying its action's id (the keymap's handle)."""
    out = [Binding(a.keys, a.action, a.label, show=a.footer, priority=a.priority, id=a.id)
           for a in ACTIONS if a.scope == scope]
    if scope == "app":
        for i, (tab, title) in enumerate(TABS, 1):
            # digits only reach here when no text field took them; alt+digit always does,
            # however the terminal encodes it (alt+N, or ESC+N read as ¡ ™ £ ¢ ∞ § ¶)
            out.append(Binding(str(i), f"show('{tab}')", title, show=False))
            # (ESC+digit, read as ¡ … ¶, is caught by the app before any field: SqlbenchApp.on_event)
            out.append(Binding(f"alt+{i}", f"show('{tab}')", title, show=False, priority=True))
    return out


def title(a: Action) -> str:
    """The palette title: ``Distill: start``, ``Go to Runs``."""
    if a.id.startswith("tab."):
        return f"Go to {a.label}"
    scope = dict(TABS).get(a.scope, "")
    return f"{scope}: {a.label.rstrip('…').lower()}" if scope else a.label


def keymap_errors(keys: dict[str, str]) -> str | None:
    """One line naming the first unknown action id in config.yaml's ``keys:`` (with the
    closest known one), like every other unknown key; None when all are known."""
    import difflib

    for action_id, value in keys.items():
        if action_id not in BY_ID:
            close = difflib.get_close_matches(action_id, list(BY_ID), n=1)
            hint = f" (did you mean 'keys.{close[0]}'?)" if close else ""
            return f"unknown key 'keys.{action_id}'{hint}"
        if not str(value).strip():
            return f"'keys.{action_id}' must name at least one key"
    return None


def key_of(action_id: str, keymap: dict[str, str] | None = None) -> str:
    """The keys an action answers to now (remapped or default), for help and hints."""
    return (keymap or {}).get(action_id) or BY_ID[action_id].keys
