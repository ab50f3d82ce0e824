"""`sqlbench runs plot RUN`: a train run's curves as a real SVG/PNG, one line per stage
and metric, drawn from the fixed train run of tests/data/runs."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET

import pytest

from sqlbench.errors import ConfigError, RunDirError
from tests.fixtures.tui import FINISHED_DISTILL, TRAIN

pytest.importorskip("matplotlib", reason="runs plot needs matplotlib (pip install matplotlib; make setup does)")


def _series_ids(svg_path) -> set[str]:
    root = ET.parse(svg_path).getroot()  # a parse error fails the test: the file must be valid XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return {el.get("id") for el in root.iter() if "@" in (el.get("id") or "")}


def _expected(run, patterns):
    from sqlbench.training.curves import series

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return {f"{m}@{stage}" for m, by in series(records, patterns).items() for stage in by}


def test_default_svg_draws_reward_rewards_kl_eval_and_length_per_stage(tui_runs):
    from sqlbench.training.curves import plot_run

    run = tui_runs / TRAIN
    out = plot_run(run)
    assert out == run / "curves.svg"
    ids = _series_ids(out)
    assert {"reward@grpo", "kl@grpo", "eval/execution_accuracy@grpo", "completions/mean_length@grpo",
            "rewards/execution/mean@grpo", "rewards/format/mean@grpo", "rewards/schema/mean@grpo",
            "rewards/syntax/mean@grpo", "loss@sft", "loss@grpo"} == ids
    assert ids == _expected(run, ["reward", "rewards/*/mean", "kl", "eval/execution_accuracy",
                                  "completions/mean_length", "loss"])


def test_cli_png_with_chosen_metrics_one_curve_per_stage(tui_runs, tmp_path, capsys):
    from sqlbench.cli import main

    out = tmp_path / "pics" / "loss.png"
    assert main(["runs", "--root", str(tui_runs), "plot", TRAIN, "--metrics", "loss,kl", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 300 and height > 200
    svg = tmp_path / "loss.svg"
    main(["runs", "plot", str(tui_runs / TRAIN), "--metrics", "loss", "--out", str(svg)])
    assert _series_ids(svg) == {"loss@sft", "loss@grpo"}


def test_stages_whose_steps_restart_are_drawn_one_after_the_other():
    from sqlbench.training.curves import series

    recs = [{"step": 1, "stage": "sft", "loss": 2.0}, {"step": 2, "stage": "sft", "loss": 1.0},
            {"step": 1, "stage": "grpo", "loss": 0.1}, {"step": 2, "stage": "grpo", "loss": 0.2}]
    s = series(recs, ["loss"])["loss"]
    assert s == {"sft": [(1, 2.0), (2, 1.0)], "grpo": [(3, 0.1), (4, 0.2)]}


def test_a_resumed_run_draws_each_step_once_with_the_value_it_went_on_from():
    """A run resumed from its step-2 checkpoint logs steps 3.. again: the line must not
    double back over them."""
    from sqlbench.training.curves import series

    recs = [{"step": s, "stage": "grpo", "reward": r} for s, r in ((1, 0.1), (2, 0.2), (3, 0.9), (4, 0.8))]
    recs += [{"step": s, "stage": "grpo", "reward": r} for s, r in ((3, 0.3), (4, 0.4), (5, 0.5))]
    assert series(recs, ["reward"])["reward"] == {"grpo": [(1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4), (5, 0.5)]}


def test_bad_runs_and_outputs_are_one_line_errors(tui_runs, tmp_path):
    from sqlbench.training.curves import plot_run

    with pytest.raises(RunDirError, match="is a distill run; runs plot draws the curves of a train run"):
        plot_run(tui_runs / FINISHED_DISTILL)
    with pytest.raises(ConfigError, match="write a .svg or .png file"):
        plot_run(tui_runs / TRAIN, out=tmp_path / "x.pdf")
    with pytest.raises(RunDirError, match="no values of nothing/here to plot"):
        plot_run(tui_runs / TRAIN, metrics=["nothing/here"])
    with pytest.raises(RunDirError, match="not a run directory"):
        plot_run(tmp_path)


def test_model_card_shows_the_curves():
    from sqlbench.training.publish import model_card

    card = model_card({"stages": ["grpo"], "reward_weights": {}}, "me/x", curves="curves.svg")
    assert "![learning curves](curves.svg)" in card
