"""Build the tiny offline student: a byte-level BPE tokenizer trained on the bundled
dataset (chat template with generation markers; <think>, </think>, <sql>, </sql> as
normal added tokens) and a small randomly initialised Qwen2 causal LM.

Takes seconds and needs no network. With --warm-steps N it then runs N SFT steps on
the bundled tasks so the model already answers in the <think>/<sql> format. The folder
loads with AutoTokenizer/AutoModelForCausalLM and works as --model anywhere.
A complete build with the same parameters is reused as is."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="OUT", help="folder to write the model to")
    parser.add_argument("--warm-steps", type=int, default=0, metavar="N",
                        help="SFT steps on the bundled tasks after building (default 0: random weights)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and training seed (default 0)")


def run(args: argparse.Namespace) -> int:
    import time

    from sqlbench.errors import ConfigError
    from sqlbench.training.tiny import build_tiny_model, is_built

    if args.warm_steps < 0:
        raise ConfigError(f"command line: --warm-steps must be >= 0 (got {args.warm_steps})")
    cached = is_built(args.out, warm_steps=args.warm_steps, seed=args.seed)
    t0 = time.time()
    path = build_tiny_model(args.out, warm_steps=args.warm_steps, seed=args.seed, log=print)
    how = "already built" if cached else f"built in {time.time() - t0:.1f}s"
    print(f"tiny model {how}: {path}")
    return 0
