"""A train run's learning curves as a picture (SVG or PNG), from its metrics.jsonl.

One panel per metric (the per-reward means share one panel), one line per stage; a
stage whose steps restart at 1 is drawn after the one before it, so SFT then GRPO read
left to right. Each line carries the id ``<metric>@<stage>`` in the SVG, which is how a
reader (or a test) finds a series. matplotlib is imported only here, with the Agg
backend: no display is needed.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Sequence

from sqlbench.errors import ConfigError, RunDirError

# (panel title, metric patterns): the default picture
DEFAULT_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("total reward", ("reward",)),
    ("reward per function", ("rewards/*/mean",)),
    ("KL to the reference", ("kl",)),
    ("held-out execution accuracy", ("eval/execution_accuracy",)),
    ("completion length (tokens)", ("completions/mean_length",)),
    ("training loss", ("loss",)),
)


def _panels(metrics: Sequence[str] | None) -> list[tuple[str, tuple[str, ...]]]:
    if not metrics:
        return list(DEFAULT_PANELS)
    return [(m, (m,)) for m in metrics]


def series(records: Sequence[dict], patterns: Sequence[str]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """{metric: {stage: [(x, value)]}} for the metric names matching ``patterns``; x is
    the step, shifted so that each stage starts after the previous stage's last step."""
    offsets: dict[str, float] = {}
    last_end = 0.0
    seen_max: dict[str, float] = {}
    for r in records:  # stage order as they appear
        stage = str(r.get("stage") or "train")
        step = r.get("step")
        if not isinstance(step, (int, float)):
            continue
        if stage not in offsets:
            restarts = bool(seen_max) and step <= max(seen_max.values())
            offsets[stage] = last_end if restarts else 0.0
        seen_max[stage] = max(seen_max.get(stage, step), step)
        last_end = max(last_end, offsets[stage] + seen_max[stage])
    # A resumed run logs again the steps after its last checkpoint: the newest value of a
    # step is the one the run went on from.
    points: dict[str, dict[str, dict[float, float]]] = {}
    for r in records:
        step = r.get("step")
        if not isinstance(step, (int, float)):
            continue
        stage = str(r.get("stage") or "train")
        for key, value in r.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if any(fnmatch.fnmatchcase(key, p) for p in patterns):
                points.setdefault(key, {}).setdefault(stage, {})[offsets.get(stage, 0.0) + step] = float(value)
    return {key: {stage: sorted(xy.items()) for stage, xy in by_stage.items()} for key, by_stage in points.items()}


def plot_run(run_path: str | os.PathLike, *, metrics: Sequence[str] | None = None,
             out: str | os.PathLike | None = None) -> Path:
    """Draw the run's curves into ``out`` (default ``RUN/curves.svg``); returns the file."""
    from sqlbench.runs import RunDir

    run = RunDir.open(run_path)
    if run.kind != "train":
        raise RunDirError(f"{run.path} is a {run.kind} run; runs plot draws the curves of a train run")
    out = Path(out) if out else run.path / "curves.svg"
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise ConfigError(f"--out {out}: write a .svg or .png file")
    records = run.read("metrics")
    panels = []
    for title, patterns in _panels(metrics):
        data = series(records, patterns)
        if data:
            panels.append((title, data))
    if not panels:
        wanted = ", ".join(p for _, ps in _panels(metrics) for p in ps)
        raise RunDirError(f"{run.path}: metrics.jsonl has no values of {wanted} to plot yet")

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    cols = 2 if len(panels) > 1 else 1
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.2 * rows), squeeze=False)
    try:
        for ax, (title, data) in zip(axes.flat, panels):
            for metric, by_stage in sorted(data.items()):
                for stage, points in by_stage.items():
                    xs, ys = zip(*points)
                    name = metric.removeprefix("rewards/").removesuffix("/mean") if len(data) > 1 else stage
                    label = f"{name} ({stage})" if len(data) > 1 else stage
                    (line,) = ax.plot(xs, ys, marker="o" if len(xs) < 3 else None, markersize=3, label=label)
                    line.set_gid(f"{metric}@{stage}")
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        fig.suptitle(f"{run.id}", fontsize=11)
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        fig.savefig(tmp, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else None)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
    return out
