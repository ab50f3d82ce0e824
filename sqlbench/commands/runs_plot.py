"""`sqlbench runs plot RUN`: a train run's learning curves as an SVG or PNG picture.

Total reward, each reward function, KL, held-out execution accuracy, completion length
and training loss, one line per stage (default RUN/curves.svg). --metrics picks others,
e.g. --metrics learning_rate or 'rewards/*/mean'."""

from __future__ import annotations

import argparse

HELP = "draw a train run's learning curves (SVG or PNG)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="train run directory, or its id under runs_dir")
    parser.add_argument("--metrics", metavar="NAME,...", default=None,
                        help="metrics to draw, one panel each; shell-style patterns allowed (default: reward, "
                             "rewards/*/mean, kl, eval/execution_accuracy, completions/mean_length, loss)")
    parser.add_argument("--out", metavar="FILE", default=None, help="FILE.svg or FILE.png (default RUN/curves.svg)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sqlbench.commands.base import load_context
    from sqlbench.training.curves import plot_run

    path = Path(args.run)
    if not path.is_dir():
        root = Path(getattr(args, "root", None) or load_context(args).settings.runs_dir)
        path = root / args.run if (root / args.run).is_dir() else path
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    print(plot_run(path, metrics=metrics, out=args.out))
    return 0
