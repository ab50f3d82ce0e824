"""Push a trained model (``RUN/model``: adapter or merged weights) to the Hub with a
model card naming the base model, data, rewards and weights, steps and final metrics."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from sqlbench.errors import ConfigError, RunDirError

SKIP = {"training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth"}


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def model_card(summary: dict[str, Any], repo_id: str, curves: str | None = None) -> str:
    """Markdown card with YAML front matter, from RUN/summary.json; ``curves`` names the
    learning-curves image uploaded beside it."""
    from sqlbench.training import rewards

    base = summary.get("base_model", "?")
    adapter = summary.get("lora") is not None
    front = ["---", "library_name: " + ("peft" if adapter else "transformers"), "tags:", "- sqlbench",
             "- text-to-sql", "- grpo", "- trl"]
    if base and "/" in base and not os.path.isabs(base):
        front.append(f"base_model: {base}")
    front.append("---")
    lines = front + [
        f"# {repo_id}",
        "",
        "A text-to-SQL student trained with [sqlbench](https://github.com/) to answer with its reasoning "
        "between `<think>` and `</think>` and the query between `<sql>` and `</sql>`.",
        "",
        "## Training",
        "",
        f"- Base model: `{base}`",
        f"- Data: `{summary.get('dataset', '?')}` ({summary.get('train_tasks', '?')} training tasks, "
        f"{summary.get('held_out', '?')} held out)",
        f"- Stages: {', '.join(summary.get('stages', []))}",
        "- Weights: " + ("LoRA adapter (r={r}, alpha={alpha}, dropout={dropout})".format(**summary["lora"])
                         if adapter else "full fine-tune"),
    ]
    for stage in summary.get("stages", []):
        s = summary.get(stage) or {}
        lines.append(f"- {stage}: {s.get('step', '?')} steps")
    lines += ["", "## Rewards (GRPO)", "", "| reward | weight | meaning |", "|---|---|---|"]
    for name, w in (summary.get("reward_weights") or {}).items():
        doc = (rewards.REWARDS[name].__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        doc = " ".join(doc.split()).replace("|", "\\|")
        lines.append(f"| {name} | {_fmt(w)} | {doc} |")
    lines += ["", "Rewards judge answers against the dataset's gold SQL by executing both in a sandbox.", ""]
    if curves:
        lines += ["## Learning curves", "", f"![learning curves]({curves})", ""]
    metrics = summary.get("final_metrics") or {}
    if metrics:
        lines += ["## Final metrics", "", "| metric | value |", "|---|---|"]
        for k, v in sorted(metrics.items()):
            lines.append(f"| {k} | {_fmt(v)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _curves(run: Path, log: Callable[[str], None]) -> Path | None:
    """RUN/curves.svg, drawn now; None (and a note) when the run has nothing to draw or
    matplotlib is missing: the card goes out without the picture."""
    from sqlbench.errors import SqlbenchError

    try:
        from sqlbench.training.curves import plot_run

        return plot_run(run, out=run / "curves.svg")
    except (SqlbenchError, ImportError) as e:
        log(f"model card without learning curves: {e}")
        return None


def publish_model(run_path: str | os.PathLike, repo_id: str, *, token: str | None, private: bool = False,
                  log: Callable[[str], None] = print) -> str:
    """Upload RUN/model and a model card in one commit; returns the repo URL."""
    from sqlbench.publish import push_files
    from sqlbench.redact import redact

    if not token:
        raise ConfigError("--publish-repo-id needs HF_TOKEN (environment or .env)")
    run = Path(run_path)
    model_dir = run / "model"
    if not model_dir.is_dir():
        raise RunDirError(f"{run}: no model/ to publish (did training finish?)")
    summary_path = run / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    files: dict[str, Any] = {p.relative_to(model_dir).as_posix(): p for p in sorted(model_dir.rglob("*"))
                             if p.is_file() and p.name not in SKIP and p.name != "README.md"}
    curves = _curves(run, log)
    if curves is not None:
        files["curves.svg"] = curves
    files["README.md"] = redact(model_card(summary, repo_id, "curves.svg" if curves else None)).encode()
    url = push_files(repo_id, files, repo_type="model", token=token, private=private,
                     message="Upload model trained with sqlbench")
    log(f"published {len(files)} files to {url}")
    return url
