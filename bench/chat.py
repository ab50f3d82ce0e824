"""Chat engine speed vs a bare ``model.generate``: tokens per second and time to first token.

Same model, same prompt, same greedy settings and token budget, measured in one run
with the two paths interleaved (so machine load hits both alike). "Ours" is the full
chat path: ChatSession.stream -> generation thread -> incremental decoder -> queue ->
think/sql splitter. "Bare" is model.generate with no streamer, called on a thread of
its own like the engine's. Both use --threads torch threads (default 1: on two shared
cores a second intra-op thread makes the tiny model several times slower and the
numbers noisy). The ratio is the median of per-pair ratios (each pair back to back).

    python bench/chat.py --quick          # 128 tokens, up to 30 pairs or 20 s: < 45 s on 2 CPU cores
    python bench/chat.py --model runs/<train-run> --max-new-tokens 256 --reps 10

Last line: {"bench": "chat", "ratio": ours tokens/s / bare tokens/s, "ttft_ms": ...}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTION = "Which riders won an omnium at the Olympic Games, and in which year?"
SCHEMA = (
    "CREATE TABLE riders (rider_id INTEGER PRIMARY KEY, name VARCHAR(80), country VARCHAR(3));\n"
    "CREATE TABLE track_results (result_id INTEGER PRIMARY KEY, rider_id INTEGER, event VARCHAR(40), "
    "championship VARCHAR(80), year INTEGER, position INTEGER, points INTEGER);"
)


class _FixedSchema:
    """A stand-in database that only supplies the schema text for the prompt."""

    def schema_text(self) -> str:
        return SCHEMA

    def close(self) -> None:
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small budget, fewer repetitions")
    ap.add_argument("--model", default=None, help="model spec (default: the tiny offline student, cold)")
    ap.add_argument("--max-new-tokens", type=int, default=None)
    ap.add_argument("--reps", type=int, default=None, help="pairs of runs (default 100; --quick stops after 20 s)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads for both paths (default 1: steadier on a shared machine)")
    args = ap.parse_args()
    new_tokens = args.max_new_tokens or (128 if args.quick else 256)
    reps = args.reps or 100

    import torch

    torch.set_num_threads(args.threads)

    from sqlbench.inference.chat import ChatSession, load_engine
    from sqlbench.config import Settings

    torch.manual_seed(0)
    spec = args.model
    if spec is None:
        from sqlbench.training.tiny import build_tiny_model

        spec = str(build_tiny_model(ROOT / ".cache" / "bench" / "tiny-cold", warm_steps=0, seed=0))
    t0 = time.perf_counter()
    engine = load_engine(spec)
    print(f"model {spec} loaded in {time.perf_counter() - t0:.1f}s; {new_tokens} new tokens x {reps} reps, greedy",
          file=sys.stderr)

    settings = Settings()
    settings.temperature = 0.0
    settings.chat.max_new_tokens = new_tokens
    session = ChatSession(engine, settings=settings)
    session.schema_text = SCHEMA
    msgs = session.messages_for(QUESTION)
    tok, model = engine.tokenizer, engine.model
    enc = tok(engine.render(msgs), return_tensors="pt", add_special_tokens=False)
    n_prompt = enc["input_ids"].shape[1]
    # the same stopping rule for both paths: greedy, exactly the token budget
    model.generation_config.eos_token_id = None
    sql_end, engine.sql_end_id = engine.sql_end_id, None

    def ours() -> tuple[float, float, int]:
        session.reset()
        start = time.perf_counter()
        first = None
        for _ in session.stream(QUESTION):
            if first is None:
                first = time.perf_counter() - start
        total = time.perf_counter() - start
        return total, first or total, session.last_result.completion_tokens

    def in_thread(fn):
        # The chat engine generates on a worker thread; PyTorch's OpenMP behaves
        # differently on the main thread (much slower on a loaded 2-core machine), so
        # the bare call runs on a thread too: same model, same settings, same threading.
        box = {}
        t = threading.Thread(target=lambda: box.setdefault("r", fn()))
        t.start()
        t.join()
        return box["r"]

    def _bare(n: int) -> tuple[float, int]:
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=n, do_sample=False, pad_token_id=tok.pad_token_id)
        return time.perf_counter() - start, int(out.shape[1] - n_prompt)

    def bare() -> tuple[float, int]:
        return in_thread(lambda: _bare(new_tokens))

    def bare_first() -> float:
        return in_thread(lambda: _bare(1))[0]

    ours(), bare()  # warm-up: kernels, allocator, tokenizer caches
    our_tps, bare_tps, ttft, bare_ttft = [], [], [], []
    budget_end = time.perf_counter() + (20 if args.quick else 600)  # --quick stays under 45 s on a busy machine
    pair_ratios = []
    for i in range(reps):
        if i >= 2 and time.perf_counter() > budget_end:
            print(f"time budget reached after {i} reps", file=sys.stderr)
            break
        pair = [("ours", ours), ("bare", bare)] if i % 2 == 0 else [("bare", bare), ("ours", ours)]
        for name, fn in pair:
            torch.manual_seed(i)
            if name == "ours":
                total, first, n = fn()
                our_tps.append(n / total)
                ttft.append(first)
            else:
                total, n = fn()
                bare_tps.append(n / total)
        bare_ttft.append(bare_first())
        pair_ratios.append(our_tps[-1] / bare_tps[-1])
    engine.sql_end_id = sql_end

    ours_med, bare_med = statistics.median(our_tps), statistics.median(bare_tps)
    # each pair ran back to back, so its ratio cancels most of the machine's load swings
    ratio = statistics.median(pair_ratios)
    print(f"ours : {ours_med:8.1f} tokens/s (median of {len(our_tps)}), time to first token {statistics.median(ttft) * 1000:.1f} ms",
          file=sys.stderr)
    print(f"bare : {bare_med:8.1f} tokens/s (median of {len(our_tps)}), generate(max_new_tokens=1) "
          f"{statistics.median(bare_ttft) * 1000:.1f} ms", file=sys.stderr)
    print(f"ratio: {ratio:.3f} (median of per-pair ratios; goal >= 0.95), torch threads {args.threads}",
          file=sys.stderr)
    print(json.dumps({
        "bench": "chat", "ratio": round(ratio, 4), "ttft_ms": round(statistics.median(ttft) * 1000, 2),
        "bare_ttft_ms": round(statistics.median(bare_ttft) * 1000, 2),
        "ours_tokens_per_s": round(ours_med, 2), "bare_tokens_per_s": round(bare_med, 2),
        "new_tokens": new_tokens, "reps": len(our_tps), "threads": args.threads, "quick": args.quick, "model": str(args.model or "tiny-cold"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
