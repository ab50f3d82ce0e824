"""The workbench app: a tab per screen over the engine's run directories.

``sqlbench`` with no command calls :func:`run_app`. Start-up imports Textual and the
light engine modules only (run directories, settings); torch & co. load inside the
workers that need them, so the first frame is as quick as a bare Textual app's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from textual.app import App, ComposeResult, SystemCommand
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from screens.actions import ACTIONS, ESC_DIGITS, bindings, keymap_errors
from screens.actions import title as action_title
from screens.base import View

if TYPE_CHECKING:
    from sqlbench.runs.jobs import Job, JobManager

# (tab id, title, "module:class"); the number key of a tab is its position. Views are
# imported when mounted: only the first tab's module loads before the first frame.
TABS = (
    ("runs", "Runs", "screens.runs:RunsView"),
    ("config", "Config", "screens.config:ConfigView"),
    ("distill", "Distill", "screens.distill:DistillView"),
    ("rejected", "Rejected", "screens.rejected:RejectedView"),
    ("train", "Train", "screens.train:TrainView"),
    ("chat", "Chat", "screens.chat:ChatView"),
    ("quickstart", "Quickstart", "screens.quickstart:QuickstartView"),
)


ESC_TABS = {key: tab for key, (tab, _, _) in zip(ESC_DIGITS, TABS)}


def view_class(spec: str) -> type[View]:
    import importlib

    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


class SqlbenchApp(App):
    """sqlbench workbench."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere still find it
    TITLE = "sqlbench"
    SUB_TITLE = "teach small models SQL, with visible reasoning"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = bindings("app")  # from the action registry (screens/actions.py), like every view's

    def __init__(
        self,
        *,
        config_path: str | None = None,
        env_file: str = ".env",
        runs_dir: str | Path | None = None,
        initial: str = "runs",
        live: bool = True,
        freeze_gc: bool = False,
    ) -> None:
        super().__init__()
        self.config_path = config_path
        self.env_file = env_file
        self._settings = None
        self._startup_error: str | None = None
        # Nothing before the first frame needs the settings: validating them imports
        # pydantic (about half a bare app's start-up) and even peeking at runs_dir loads
        # yaml, so both wait for first use.
        self._runs_dir = Path(runs_dir) if runs_dir else None
        self._jobs: JobManager | None = None
        self._jobs_lock = threading.Lock()  # first use may come from a worker (Quickstart)
        self._views_ready = asyncio.Event()  # set once every tab's view is mounted
        self._mounting = False
        self.stopping: set[Path] = set()  # runs told to stop whose job has not ended yet
        self.keymap: dict[str, str] = {}  # config.yaml's keys: remappings in force
        self.active_tab = initial
        self.initial = initial
        # live=False: read run directories once and stop polling (tests, screenshots)
        self.live = live
        # freeze_gc: the process is this app's alone (the CLI). Everything start-up
        # builds lives as long as the app, so collecting it is wasted work (a tenth of
        # the time to the first frame): collection pauses until every tab is built, then
        # resumes with those objects frozen (_mount_other_views). Never in a shared
        # process (a test session), whose garbage this would pin.
        self.freeze_gc = freeze_gc
        if freeze_gc:
            gc.disable()

    @property
    def runs_root(self) -> Path:
        """The runs folder: the constructor's, else runs_dir from config.yaml (read once)."""
        if self._runs_dir is None:
            from sqlbench.configfile import peek

            self._runs_dir = Path(peek("runs_dir", "runs", self.config_path))
        return self._runs_dir

    @property
    def jobs(self) -> JobManager:
        """Jobs started from this workbench (built on first use: nothing before the first
        frame needs the job machinery)."""
        with self._jobs_lock:
            if self._jobs is None:
                from sqlbench.runs.jobs import JobManager

                self._jobs = JobManager(self.runs_root, config=self.config_path, env_file=self.env_file)
            return self._jobs

    def _load_settings(self) -> None:
        from sqlbench.config import Settings, load_settings
        from sqlbench.errors import SqlbenchError

        try:
            self._settings = load_settings(self.config_path)
        except SqlbenchError as e:  # open anyway: the Config tab is where one fixes it
            self._settings = Settings()
            self._startup_error = str(e)

    @property
    def settings(self):
        """The validated settings, loaded on first use (after the first frame)."""
        if self._settings is None:
            self._load_settings()
        return self._settings

    @settings.setter
    def settings(self, value) -> None:
        self._settings = value

    @property
    def startup_error(self) -> str | None:
        self.settings  # noqa: B018 (loading is what sets it)
        return self._startup_error

    @startup_error.setter
    def startup_error(self, value: str | None) -> None:
        self._startup_error = value

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with TabbedContent(initial=self.initial, id="tabs"):
            for i, (tab, title, view) in enumerate(TABS, 1):
                with TabPane(f"{i} {title}", id=tab):
                    # only the first tab is built before the first frame; the rest mount
                    # right after it (the Config form alone costs more than a bare app)
                    if tab == self.initial:
                        yield view_class(view)(id=f"{tab}-view")
        yield Footer()

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self._focus_view(self.initial)
        self.call_after_refresh(self._mount_other_views)
        self.call_after_refresh(self._report_config_error)

    def _report_config_error(self) -> None:
        if self.startup_error:
            self.notify(self.startup_error, title="config.yaml", severity="error", timeout=10)
        self.apply_keys(self.settings.keys)

    def apply_keys(self, keys: dict[str, str]) -> None:
        """config.yaml's ``keys:`` (action id -> keys) over the registry's defaults; an
        unknown id is named like any unknown config key, and nothing is remapped."""
        error = keymap_errors(keys)
        if error:
            self.notify(f"config.yaml: {error}", title="config.yaml", severity="error", timeout=10)
            return
        self.keymap = dict(keys)
        self.set_keymap(self.keymap)

    async def _mount_other_views(self) -> None:
        self._mounting = True
        try:
            await self._mount_views()
        finally:
            self._views_ready.set()
            if self.freeze_gc:
                # Everything built so far lives as long as the app: keep it out of the
                # full collections that would otherwise rescan it every few seconds while
                # a busy run streams in (hundreds of ms each on a loaded machine), and
                # resume collecting (paused since __init__) for what comes after.
                gc.collect()
                gc.freeze()
                gc.enable()

    async def _shutdown(self) -> None:
        # Every way out (quit, exit(), a test's teardown) ends here. Tearing down a tab
        # still being mounted raises inside Textual (a Select mid-mount), so wait for
        # the mounting under way: a fraction of a second when idle, several on a loaded
        # machine, so the cap is only a hang guard. Private, and kept on
        # purpose: run_test's teardown calls it without exit(), and on_unmount comes
        # after the widgets are gone. tests/test_tui_shutdown.py fails if Textual
        # renames it or stops calling it.
        if self._mounting:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._views_ready.wait(), timeout=60)
        await super()._shutdown()

    async def _mount_views(self) -> None:
        from textual.widget import MountError

        for tab, _, view in TABS:
            if tab == self.initial:
                continue
            if self._exit or not self.is_running:
                return  # quit before the rest was built: nothing to do
            try:
                await self.query_one(f"#{tab}", TabPane).mount(view_class(view)(id=f"{tab}-view"))
            except MountError:
                return

    async def on_event(self, event) -> None:
        # alt+digit from a terminal that sends ESC+digit (tmux, xterm) reaches Textual as a
        # printable character (¡ ™ £ ¢ ∞ § ¶), which a focused text field would take before
        # any binding: switch tabs here, before it gets there.
        from textual import events

        if isinstance(event, events.Key) and not event.is_forwarded and event.key in ESC_TABS:
            if len(self.screen_stack) == 1:  # not under a dialog
                self.action_show(ESC_TABS[event.key])
            return
        await super().on_event(event)

    # ---- navigation ---------------------------------------------------------------------
    @property
    def views_mounted(self) -> bool:
        """True once every tab's view is mounted (all but the first mount lazily)."""
        return len(self.query(View)) == len(TABS)

    def view(self, tab: str):
        return self.query_one(f"#{tab}-view")

    def active_view(self):
        return self.view(self.query_one(TabbedContent).active or "runs")

    def action_show(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.active_tab = tab
        self.call_after_refresh(self._focus_view, tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # a plain attribute: reader threads check it (Rejected tails a live run only when shown)
        self.active_tab = event.pane.id or ""

    def _focus_view(self, tab: str) -> None:
        view = self.view(tab)
        target = view.query_one(view.FOCUS) if view.FOCUS else None
        if target is None or not target.focusable:
            target = next((w for w in view.query("*") if w.focusable), None)
        if target is not None:
            target.focus()

    def action_help(self) -> None:
        from screens.help import help_markdown
        from screens.modals import HelpScreen

        self.push_screen(HelpScreen(help_markdown(self.active_view())))

    def open_run(self, path: Path) -> None:
        """Follow a run on the tab of its kind."""
        from sqlbench.runs import RunDir

        kind = RunDir(path).kind
        if kind == "distill":
            self.view("distill").attach(path)
            self.view("rejected").load(path)
            self.action_show("distill")
        elif kind == "train":
            self.view("train").attach(path)
            self.action_show("train")
        else:
            self.notify(f"{path.name} is a {kind} run: open its folder to read it", severity="warning")

    def open_rejected(self, path: Path) -> None:
        self.view("rejected").load(path)
        self.action_show("rejected")

    # ---- jobs --------------------------------------------------------------------------------
    def start_job(self, kind: str, args: list[str], run_path: Path | None = None) -> Job | None:
        try:
            job = self.jobs.start(kind, args, run_path)
        except OSError as e:
            self.notify(f"could not start {kind}: {e}", severity="error")
            return None
        self.notify(f"{kind} started in {job.run_path}", title=kind)
        return job

    def resume_run(self, path: Path) -> None:
        from sqlbench.errors import RunDirError
        from sqlbench.runs.jobs import request_resume

        self.stopping.discard(Path(path))  # a stop asked earlier is over: the run goes on
        try:
            job = request_resume(path, self.jobs)
        except (OSError, RunDirError) as e:
            self.notify(f"could not resume {path.name}: {e}", severity="error")
            return
        self.notify(f"resuming {path.name}")
        self.open_run(job.run_path if job else Path(path))

    def confirm_stop(self, path: Path) -> None:
        from sqlbench.runs import RunDir
        from sqlbench.runs.jobs import stop
        from screens.modals import ConfirmScreen

        # a job started here may not have written run.json yet: its own process counts
        own = next((j for j in self.jobs.running_started_here() if j.run_path == Path(path)), None)
        if RunDir(path).status != "running" and own is None:
            self.notify(f"{path.name} is not running", severity="warning")
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if stop(path):
                self.stopping.add(Path(path))
                self.notify(f"stopping {path.name} (it ends as interrupted; resume it from Runs)")
            elif own is not None and own.alive:
                own.process.terminate()
                self.stopping.add(Path(path))
                self.notify(f"stopping {path.name}")
            else:
                self.notify(f"{path.name} was no longer running", severity="warning")

        self.push_screen(ConfirmScreen(f"Stop {path.name}? The job ends as interrupted.", yes="Stop"), done)

    async def action_quit(self) -> None:
        running = self.jobs.running_started_here()
        if not running:
            self.exit()
            return
        from screens.modals import ConfirmScreen

        names = ", ".join(j.run_path.name for j in running)

        def done(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(
            ConfirmScreen(f"Quit? {len(running)} job(s) started here keep running in the background: {names}",
                          yes="Quit"),
            done,
        )

    # ---- command palette: every action of the registry ----------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from screens.actions import key_of

        yield from super().get_system_commands(screen)
        for a in ACTIONS:
            if a.palette and a.id not in ("app.quit",):
                yield SystemCommand(action_title(a), f"{a.help} ({key_of(a.id, self.keymap)})",
                                    lambda a=a: self.call_later(self.run_registered, a.id))

    async def run_registered(self, action_id: str) -> None:
        """Run a registry action on its own view (switching to that tab first)."""
        from screens.actions import BY_ID

        a = BY_ID[action_id]
        if a.scope == "app":
            await self.run_action(a.action)
            return
        if self.query_one(TabbedContent).active != a.scope:
            self.action_show(a.scope)
        await self.run_action(a.action, self.view(a.scope))


def run_app(args: argparse.Namespace | None = None) -> int:
    args = args or argparse.Namespace()
    app = SqlbenchApp(config_path=getattr(args, "config", None), env_file=getattr(args, "env_file", ".env"),
                      freeze_gc=True)
    app.run()
    return 0
