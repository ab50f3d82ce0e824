"""Train's curves: one chart per metric and stage, readable at 80x24, a type-to-filter
metric picker, EMA and log scale, runs overlaid for comparison (remembered across
restarts), and completions opened in full."""

from __future__ import annotations

import json
import shutil

from textual.widgets import Checkbox, DataTable, Input

from screens.modals import CompareScreen, CompletionScreen
from screens.train import STATE_FILE, chart_matches, points_by_chart
from screens.widgets.curve import Curve, Series, ema, int_ticks, render_chart
from tests.fixtures.tui import TRAIN, wait_until


def plain(widget) -> str:
    c = widget.content
    return getattr(c, "plain", str(c))


def test_ticks_are_whole_steps_and_smoothing_is_unbiased():
    assert int_ticks(1, 30, 5) == [10, 20, 30]
    assert int_ticks(1, 3, 8) == [1, 2, 3]  # never 1.0 2.2 3.3
    assert all(isinstance(t, int) for t in int_ticks(0.5, 1000.5, 6))
    assert ema([2.0, 2.0, 2.0], 0.6) == [2.0, 2.0, 2.0]  # no drag towards zero at the start
    assert ema([1.0, 3.0], 0.0) == [1.0, 3.0]
    text = render_chart("loss", [Series("a", [1, 2, 3], [3.0, 2.0, 1.0])], 40, 10).plain.splitlines()
    assert len(text) == 10 and text[0].startswith("loss") and text[-1].lstrip().startswith("step")
    assert "┬" in text[-2] and any("\u2800" < ch <= "\u28ff" for ch in "".join(text))
    logged = render_chart("loss", [Series("a", [1, 2], [100.0, 0.01])], 40, 8, log=True).plain
    assert "(log)" in logged and "100" in logged and "0.01" in logged


def test_each_stage_is_its_own_series_and_the_filter_picks_charts():
    pts = points_by_chart([{"step": 1, "stage": "sft", "loss": 5.7}, {"step": 2, "stage": "sft", "loss": 2.0},
                           {"step": 1, "stage": "grpo", "loss": 0.0, "reward": 1.5, "epoch": 0.1}])
    assert pts[("sft", "loss")] == [(1, 5.7), (2, 2.0)] and pts[("grpo", "loss")] == [(1, 0.0)]
    assert ("grpo", "epoch") not in pts
    assert chart_matches("grpo", "reward", "") and not chart_matches("grpo", "reward_std", "")
    assert chart_matches("grpo", "completions/mean_length", "grpo len")
    assert not chart_matches("sft", "completions/mean_length", "grpo len")


async def test_at_80x24_two_charts_are_readable_and_the_rest_scroll(tui_app, tui_runs):
    app = tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_run(tui_runs / TRAIN)
        view = app.view("train")
        assert await wait_until(pilot, lambda: view.curves().get("grpo:reward") == 30)
        grid = app.query_one("#train-curves")

        def visible() -> list[Curve]:
            return [c for c in app.query(Curve) if c.display and c.region.height and
                    grid.region.contains_region(c.region)]

        assert await wait_until(pilot, lambda: len(visible()) >= 2)
        for c in visible()[:2]:
            assert c.region.width >= 30 and c.region.height >= 8
        shown = [c for c in app.query(Curve) if c.display]
        assert len(shown) > len(visible())  # the others are below, reachable by scrolling
        assert grid.max_scroll_y > 0
        # the filter: completion lengths only
        app.query_one("#train-filter", Input).value = "length"
        assert await wait_until(pilot, lambda: [c.chart_key for c in app.query(Curve) if c.display]
                                == ["grpo:completions/mean_length"])
        assert "1 of" in plain(app.query_one("#train-shown"))
        app.query_one("#train-filter", Input).value = "no such metric"
        assert await wait_until(pilot, lambda: "none match" in plain(app.query_one("#train-shown")))
        app.query_one("#train-filter", Input).value = ""
        # smoothing and log scale redraw with a marker in the title
        app.query_one("#train-smooth", Checkbox).value = True
        app.query_one("#train-log", Checkbox).value = True
        chart = app.query_one("#curve-grpo-reward", Curve)
        assert await wait_until(pilot, lambda: "(EMA 0.6)" in plain(chart) and "(log)" in plain(chart))


async def test_compare_overlays_runs_with_a_legend_and_is_remembered(tui_app, tui_runs):
    other = tui_runs / "20260101-150000-train"
    shutil.copytree(tui_runs / TRAIN, other)
    info = json.loads((other / "run.json").read_text())
    info["started"] += 7200
    (other / "run.json").write_text(json.dumps(info))
    lines = (other / "metrics.jsonl").read_text().splitlines()[:25]  # a shorter run
    (other / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    app = tui_app()
    async with app.run_test(size=(130, 42)) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_run(tui_runs / TRAIN)
        view = app.view("train")
        assert await wait_until(pilot, lambda: view.curves().get("grpo:reward") == 30)
        app.query_one("#train-completions", DataTable).focus()
        await pilot.press("c")
        assert await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))
        await pilot.press("space")  # the only other train run
        await pilot.click("#compare-ok")
        chart = app.query_one("#curve-grpo-reward", Curve)
        assert await wait_until(pilot, lambda: len(chart.series) == 2 and len(chart.series["B"].ys) == 15)
        assert len(chart.series["A"].ys) == 30
        assert chart.series["A"].color != chart.series["B"].color
        legend = plain(app.query_one("#train-shown"))
        assert f"A {TRAIN}" in legend and "B 20260101-150000-train" in legend
        assert await wait_until(pilot, lambda: "━ A" in plain(chart) and "━ B" in plain(chart))
        assert json.loads((tui_runs / STATE_FILE).read_text())["compare"] == [str(other)]
    # reopening the workbench remembers the selection
    app = tui_app()
    async with app.run_test(size=(130, 42)) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_run(tui_runs / TRAIN)
        chart_ready = lambda: len(app.query_one("#curve-grpo-reward", Curve).series) == 2  # noqa: E731
        assert await wait_until(pilot, lambda: bool(app.query("#curve-grpo-reward")) and chart_ready())


async def test_a_completion_opens_in_full(tui_app, tui_runs):
    app = tui_app()
    async with app.run_test(size=(130, 42)) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_run(tui_runs / TRAIN)
        table = app.query_one("#train-completions", DataTable)
        assert await wait_until(pilot, lambda: table.row_count == 6)
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, CompletionScreen))
        screen = app.screen
        assert "acme" in plain(screen.query_one("#cd-prompt"))
        assert "<sql>SELECT 1</sql>" in plain(screen.query_one("#cd-completion"))
        scores = plain(screen.query_one("#cd-scores"))
        assert "execution 0.000" in scores and "schema 0.500" in scores
        assert "advantage -0.750" in plain(screen.query_one("#cd-head"))
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: not isinstance(app.screen, CompletionScreen))


async def test_the_process_count_is_a_train_form_field_and_shows_on_runs(tui_app, tui_runs):
    import json

    from sqlbench.runs.summary import summarize

    app = tui_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        view = app.view("train")
        field = app.query_one("#train-num-processes", Input)
        assert "--num-processes" in str(field.tooltip)
        field.value = "2"
        args = view.form_args()
        assert args[args.index("--num-processes") + 1] == "2"
        field.value = "two"
        assert view.form_flags()[1] is not None  # not a number: the form says so, nothing starts
    # a run trained by 2 processes says so on the Runs tab (rank 0 records it in run.json)
    info_file = tui_runs / TRAIN / "run.json"
    info = json.loads(info_file.read_text())
    assert not summarize(tui_runs / TRAIN)["brief"].startswith("2 processes")
    info_file.write_text(json.dumps({**info, "processes": 2}))
    assert summarize(tui_runs / TRAIN)["brief"].startswith("2 processes · grpo step 40/40")


async def test_the_eta_waits_for_each_stage_to_be_timed(tui_app, tui_runs):
    """A live two-stage run: during SFT the run's ETA is still estimating (GRPO is not
    timed), and GRPO's first steps are never given SFT's pace."""
    from sqlbench.runs import RunDir

    run = RunDir.create(tui_runs / "20260101-160000-train", "train", root=tui_runs)  # this process: alive
    run.event("plan", t=1000.0, stages=["sft", "grpo"])
    run.event("stage", t=1000.0, name="sft", max_steps=12, step=0)
    for s in range(1, 5):  # SFT: 4 s a step
        run.event("step", t=1000.0 + 4 * s, stage="sft", step=s, max_steps=12)
    app = tui_app(live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.views_mounted)
        app.open_run(run.path)
        eta = app.query_one("#train-eta")
        assert await wait_until(pilot, lambda: plain(eta) == "sft step 4/12  ETA estimating… (sft 32s left, then grpo)"), \
            plain(eta)
        run.event("stage", t=1100.0, name="grpo", max_steps=12, step=0)
        for s in (1, 2):  # GRPO: 20 s a step, but not timed enough yet
            run.event("step", t=1100.0 + 20 * s, stage="grpo", step=s, max_steps=12)
        assert await wait_until(pilot, lambda: plain(eta) == "grpo step 2/12  ETA estimating…"), plain(eta)
        run.event("step", t=1160.0, stage="grpo", step=3, max_steps=12)
        assert await wait_until(pilot, lambda: plain(eta) == "grpo step 3/12  ETA 3m00s"), plain(eta)
        run.finish()
        assert await wait_until(pilot, lambda: plain(eta) == "grpo step 3/12"), plain(eta)


async def test_a_flood_of_points_costs_one_redraw_per_tick():
    """Redraws stay at ≤ 2 Hz: data only marks a chart dirty, and the chart's timer
    (every REDRAW_INTERVAL s) draws whatever arrived since, once."""
    from textual.app import App

    from screens.widgets import curve as curve_mod

    assert curve_mod.REDRAW_INTERVAL >= 0.5
    draws: list[int] = []

    class Counted(Curve):
        def render_now(self):
            draws.append(len(self.ys))
            return super().render_now()

    class One(App):
        def compose(self):
            yield Counted("reward", "reward", "grpo", id="c")

    app = One()
    async with app.run_test(size=(60, 14)) as pilot:
        chart = app.query_one(Counted)
        chart.extend([(1, 0.5)])
        assert await wait_until(pilot, lambda: draws and draws[-1] == 1)
        before = len(draws)
        for step in range(2, 502):  # 500 logged steps at once, as a fast job's backlog arrives
            chart.extend([(step, 0.5 + step / 1000)])
        assert len(draws) == before  # nothing drawn per point
        assert await wait_until(pilot, lambda: draws[-1] == 501)
        assert len(draws) == before + 1  # one redraw took all 500
        assert "501" in plain(chart) or "500" in plain(chart)  # the x axis reaches the last step


def test_a_lone_point_is_seen_and_the_middle_label_sits_on_its_value():
    # one held-out check so far: a full cell, not one dot among 2x4
    text = render_chart("held-out", [Series("a", [4], [0.0])], 40, 9).plain.splitlines()
    plot = text[1:-2]
    marked = [r for r, line in enumerate(plot) if "\u28ff" in line]
    assert len(marked) == 1
    # a flat value is drawn in the middle, on the row that carries its label
    assert plot[marked[0]].split("┤")[0].strip() == "0"
    flat = render_chart("kl", [Series("a", [1, 2, 3], [2.0, 2.0, 2.0])], 40, 9).plain.splitlines()[1:-2]
    row = next(r for r, line in enumerate(flat) if any("\u2800" < ch <= "\u28ff" for ch in line))
    assert flat[row].split("┤")[0].strip() == "2"
