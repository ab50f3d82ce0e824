"""Config: a form over config.yaml and the run options, checked by the engine's models.

Saving edits only the lines of the keys that changed, so the file's comments and
layout survive. Secrets are read from ``.env`` (shown masked) and written back there,
never into config.yaml.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from screens.actions import bindings
from screens.base import View

# (section, key, help); section "" is the top level
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("", "base_url", "OpenAI-compatible endpoint of the teacher"),
    ("", "runs_dir", "where run directories go"),
    ("", "temperature", "sampling temperature"),
    ("", "max_seq_length", "longest prompt + completion (tokens)"),
    ("distill", "provider", "teacher provider"),
    ("distill", "model", "teacher model (blank: tiny student)"),
    ("distill", "dataset_repo_id", "Hub id or local path (blank: bundled)"),
    ("distill", "limit", "tasks to distill"),
    ("distill", "batch_size", "concurrent requests"),
    ("distill", "retries", "retries per request"),
    ("distill", "validate", "validate answers in the SQL sandbox"),
    ("distill", "remove_no_valid", "drop tasks with no valid answer"),
    ("distill", "publish", "push the dataset to the Hub"),
    ("distill", "publish_repo_id", "Hub dataset id to publish to"),
    ("train", "model", "student base model (blank: tiny student)"),
    ("train", "dataset_repo_id", "dataset or distill run folder"),
    ("train", "stage", "auto | sft | grpo | both"),
    ("train", "max_steps", "optimizer steps per stage"),
    ("train", "learning_rate", "GRPO learning rate"),
    ("train", "num_generations", "completions per prompt (GRPO group)"),
    ("train", "beta", "KL weight"),
    ("train", "max_completion_length", "tokens per completion"),
    ("train", "reward_weights", "e.g. {execution: 2.0, format: 0.5}"),
    ("chat", "model", "model to chat with (blank: tiny student)"),
    ("chat", "db", "database to run answers on, read-only"),
)
CHOICES = {
    ("distill", "provider"): ("OpenAI", "Groq", "HuggingFace", "vLLM", "Transformers"),
    ("train", "stage"): ("auto", "sft", "grpo", "both"),
}
BOOLS = ("validate", "remove_no_valid", "publish")
SECRETS = (("API_KEY", "teacher API key (OpenAI-compatible)"), ("HF_TOKEN", "Hugging Face token"),
           ("GROQ_API_KEY", "Groq API key"))


def field_id(section: str, key: str) -> str:
    return f"cfg-{section or 'top'}-{key}"


def current_value(settings: Any, section: str, key: str) -> Any:
    data = settings.model_dump(mode="json", by_alias=True)
    return (data[section] if section else data).get(key)


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    return str(value)


def choice_error(sec: str, key: str, value: Any) -> str | None:
    """What the CLI would say about a choice the settings model alone accepts (a
    provider is any string to pydantic, but the job refuses an unknown one)."""
    if (sec, key) == ("distill", "provider"):
        from sqlbench.errors import SqlbenchError
        from sqlbench.providers import canonical_name

        try:
            canonical_name(str(value))
        except SqlbenchError as e:
            return f"'distill.provider': {e}"
        return None
    return None if value in CHOICES.get((sec, key), (value,)) else f"'{sec}.{key}' must be one of " \
        f"{', '.join(map(str, CHOICES[(sec, key)]))} (got {value!r})"


def parse_value(text: str) -> Any:
    """What a form field means, read as YAML would read it (blank = null)."""
    text = text.strip()
    if not text:
        return None
    for number in (int, float):  # YAML 1.1 reads "5e-05" as a string; a person means a number
        try:
            return number(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def yaml_scalar(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()
    out = yaml.safe_dump(value, default_flow_style=True)
    return out.replace("\n...\n", "").strip()


_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w]*):(?P<sep>\s*)(?P<value>[^#\n]*?)(?P<comment>\s+#.*)?$")


def set_yaml_values(text: str, changes: dict[tuple[str, str], Any]) -> str:
    """Rewrite only the lines of the changed keys, keeping every comment; keys the file
    lacks are added at the end of their section (the section is created if needed)."""
    lines = text.splitlines()
    section = ""
    found: set[tuple[str, str]] = set()
    section_end: dict[str, int] = {}
    for i, line in enumerate(lines):
        m = _KEY_LINE.match(line)
        if not m:
            continue
        indent = len(m["indent"])
        if indent == 0:
            section = m["key"] if not m["value"].strip() else ""
            if ("", m["key"]) in changes:
                lines[i] = _replace(m, changes[("", m["key"])])
                found.add(("", m["key"]))
            continue
        if section:
            section_end[section] = i
            if (section, m["key"]) in changes:
                lines[i] = _replace(m, changes[(section, m["key"])])
                found.add((section, m["key"]))
    missing = [k for k in changes if k not in found]
    # insert from the bottom so earlier indexes stay valid
    for sec, key in sorted(missing, key=lambda k: -section_end.get(k[0], -1)):
        new = f"{key}: {yaml_scalar(changes[(sec, key)])}"
        if not sec:
            lines.insert(0, new)
        elif sec in section_end:
            lines.insert(section_end[sec] + 1, "  " + new)
        else:
            lines += ["", f"{sec}:", "  " + new]
            section_end[sec] = len(lines) - 1
    return "\n".join(lines) + "\n"


def _replace(m: re.Match, value: Any) -> str:
    scalar = yaml_scalar(value)
    comment = m["comment"] or ""
    if not comment:
        return f"{m['indent']}{m['key']}: {scalar}"
    # keep the comment in its column when the new value fits
    col = len(m["indent"]) + len(m["key"]) + 1 + len(m["sep"]) + len(m["value"]) + len(comment) - len(comment.lstrip())
    prefix = f"{m['indent']}{m['key']}: {scalar}"
    return prefix + " " * max(1, col - len(prefix)) + comment.strip()


def check_settings(raw: dict[str, Any], shown_as: str) -> str | None:
    """The engine's own verdict on a candidate config: None, or its one-line error
    (worded exactly as the CLI would word it for this file)."""
    from sqlbench.config import load_settings
    from sqlbench.errors import SqlbenchError

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "config.yaml"
        p.write_text(yaml.safe_dump(raw, sort_keys=False))
        try:
            load_settings(p)
        except SqlbenchError as e:
            return str(e).replace(str(p), shown_as)
    return None


def set_env_values(text: str, values: dict[str, str]) -> str:
    lines = text.splitlines()
    done = set()
    for i, line in enumerate(lines):
        name = line.split("=", 1)[0].strip()
        if "=" in line and name in values and not line.lstrip().startswith("#"):
            lines[i] = f"{name}={values[name]}"
            done.add(name)
    lines += [f"{k}={v}" for k, v in values.items() if k not in done]
    return "\n".join(lines) + "\n"


def mask(secret: str | None) -> str:
    return "not set" if not secret else "set  ••••••••"


class ConfigView(View):
    HELP = """
# Config

The settings in `config.yaml` (see `template.config.yaml` for every key) and the
secrets in `.env`.

* **Validate** checks the form with the engine's own settings models: the message is
  the one `sqlbench` would print for the same file.
* **Save** validates, then rewrites only the lines of the keys you changed (comments
  and layout stay). Saved values apply to jobs started afterwards.
* Secrets (API_KEY, HF_TOKEN, GROQ_API_KEY) are shown masked; type a new value to
  replace one. They are written to `.env`, never to config.yaml.
* Environment variables (`SQLBENCH_SECTION__KEY`) still override the file.
"""

    FOCUS = "#config-form"
    BINDINGS = bindings("config")  # the action registry: screens/actions.py

    def compose(self) -> ComposeResult:
        yield Static(id="config-path", classes="subtitle")
        with VerticalScroll(id="config-form"):
            section = None
            for sec, key, help_text in FIELDS:
                if sec != section:
                    section = sec
                    yield Label(f"{sec or 'general'}", classes="config-section")
                with Horizontal(classes="config-field"):
                    yield Label(f"{key}", classes="config-key")
                    yield self._field(sec, key, help_text)
            yield Label("secrets (.env)", classes="config-section")
            for var, help_text in SECRETS:
                with Horizontal(classes="config-field"):
                    yield Label(var)
                    yield Input(password=True, id=f"secret-{var}", placeholder=help_text, compact=True)
        yield Static("", id="config-status")
        with Horizontal(classes="buttons"):
            yield Button("Validate", id="config-validate")
            yield Button("Save", id="config-save", variant="primary")
            yield Button("Reload", id="config-reload")

    def _field(self, sec: str, key: str, help_text: str):
        fid = field_id(sec, key)
        if (sec, key) in CHOICES:
            return Select([(c, c) for c in CHOICES[(sec, key)]], id=fid, allow_blank=False,
                          value=CHOICES[(sec, key)][0], tooltip=help_text, compact=True)
        if key in BOOLS:
            return Select([("true", True), ("false", False)], id=fid, allow_blank=False, value=False,
                          tooltip=help_text, compact=True)
        return Input(id=fid, placeholder=help_text, compact=True)

    @property
    def path(self) -> Path:
        return Path(self.workbench.config_path or "config.yaml")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        from sqlbench.config import Settings, load_secrets

        wb = self.workbench
        self.query_one("#config-path", Static).update(Text.assemble(
            ("settings ", "dim"), str(self.path), ("" if self.path.exists() else " (not created yet)", "dim"),
            ("   secrets ", "dim"), str(wb.env_file)))
        settings = wb.settings if wb.startup_error is None else Settings()
        problems = []
        for sec, key, _ in FIELDS:
            w = self.query_one(f"#{field_id(sec, key)}")
            w.remove_class("field-error")
            value = current_value(settings, sec, key)
            if isinstance(w, Select):
                if key in BOOLS:
                    w.value = bool(value)
                elif value in CHOICES[(sec, key)]:
                    w.value = value
                elif value is not None:
                    # never silently show another value: this one, outlined, and why
                    w.set_options([(c, c) for c in (*CHOICES[(sec, key)], str(value))])
                    w.value = str(value)
                    error = choice_error(sec, key, value)
                    if error:
                        w.add_class("field-error")
                        problems.append(f"{self.path}: {error}")
            else:
                w.value = to_text(value)
        try:
            secrets = load_secrets(wb.env_file)
        except Exception:
            secrets = None
        from sqlbench.config import SECRET_ENV

        names = {v: k for k, v in SECRET_ENV.items()}
        for var, help_text in SECRETS:
            inp = self.query_one(f"#secret-{var}", Input)
            inp.value = ""
            value = secrets.get(names[var]) if secrets is not None and var in names else None
            inp.placeholder = f"{mask(value)}  — {help_text}"
        if wb.startup_error:
            self._status(wb.startup_error, ok=False)
        elif problems:
            self._status(problems[0], ok=False)

    # ---- reading the form ------------------------------------------------------------------
    def form_values(self) -> dict[tuple[str, str], Any]:
        out = {}
        for sec, key, _ in FIELDS:
            w = self.query_one(f"#{field_id(sec, key)}")
            if isinstance(w, Select):
                out[(sec, key)] = w.value
            else:
                out[(sec, key)] = parse_value(w.value)
        return out

    def file_raw(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            return yaml.safe_load(self.path.read_text()) or {}
        except yaml.YAMLError:
            return {}

    def candidate(self) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
        """The config the form describes, and the keys that differ from the file's."""
        from sqlbench.config import Settings

        raw = self.file_raw()
        defaults = Settings()
        changes = {}
        for (sec, key), value in self.form_values().items():
            target = raw.setdefault(sec, {}) if sec else raw
            if not isinstance(target, dict):
                continue
            before = target[key] if key in target else current_value(defaults, sec, key)
            if value != before:
                changes[(sec, key)] = value
                target[key] = value
        return raw, changes

    def _status(self, message: str, ok: bool) -> None:
        status = self.query_one("#config-status", Static)
        status.update(message)
        status.set_class(not ok, "error")
        status.set_class(ok, "ok")

    # ---- actions ------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"config-validate": self.action_validate, "config-save": self.action_save,
         "config-reload": self.reload}.get(event.button.id or "", lambda: None)()

    def action_validate(self) -> bool:
        raw, changes = self.candidate()
        error = check_settings(raw, str(self.path))
        for (sec, key), value in self.form_values().items():
            problem = choice_error(sec, key, value) if (sec, key) in CHOICES else None
            self.query_one(f"#{field_id(sec, key)}").set_class(bool(problem), "field-error")
            if problem and not error:
                error = f"{self.path}: {problem}"
        import re

        named = re.search(r"'(?:(\w+)\.)?(\w+)'", error or "")  # the key the engine's message names
        if named:
            hits = self.query(f"#{field_id(named.group(1) or '', named.group(2))}")
            if hits:
                hits.first().add_class("field-error")
        if error:
            self._status(error, ok=False)
            self.app.notify(error, title="Invalid settings", severity="error")
            return False
        self._status(f"valid — {len(changes)} change(s) not saved yet" if changes else "valid — no changes", ok=True)
        return True

    def action_save(self) -> None:
        if not self.action_validate():
            return
        _, changes = self.candidate()
        if changes:
            if self.path.exists():
                text = self.path.read_text()
            else:
                template = Path("template.config.yaml")
                text = template.read_text() if template.exists() else ""
            self.path.write_text(set_yaml_values(text, changes))
        secrets = {var: self.query_one(f"#secret-{var}", Input).value.strip() for var, _ in SECRETS}
        secrets = {k: v for k, v in secrets.items() if v}
        if secrets:
            env = Path(self.workbench.env_file)
            env.write_text(set_env_values(env.read_text() if env.exists() else "", secrets))
            env.chmod(0o600)
        from sqlbench.config import load_settings

        try:
            self.workbench.settings = load_settings(self.workbench.config_path or (self.path if self.path.exists() else None))
            self.workbench.startup_error = None
            self.workbench.apply_keys(self.workbench.settings.keys)  # remapped keys apply at once
        except Exception as e:
            self._status(str(e), ok=False)
            return
        saved = [f"{s + '.' if s else ''}{k}" for s, k in changes]
        msg = f"saved {len(changes)} setting(s) to {self.path}" + (f": {', '.join(saved)}" if saved else "")
        if secrets:
            msg += f"; {len(secrets)} secret(s) to {self.workbench.env_file}"
        self._status(msg, ok=True)
        self.app.notify(msg, title="Config")
        self.reload()
