"""`sqlbench serve` vs the bare model: requests per second and p50/p99 latency.

Same model, same prompts, same greedy settings and token budget. "Bare" is
``model.generate`` called directly, one request after another (what a single-model
server can do at best). "Serve" is the whole path: HTTP on loopback from a separate
client process with --concurrency keep-alive connections (default 1) -> uvicorn/Starlette ->
prompt check -> queue -> generation worker -> incremental decoder -> JSON answer.
Latency is measured by the client, from sending a request to reading its answer, so it
includes the time a request waits in the queue. Blocks of bare and served requests
alternate (so machine load hits both alike); the ratio is the median of per-block
ratios of requests per second.

    python bench/serve.py --quick          # 32 tokens, blocks of 4 requests for 10 s: < 45 s
    python bench/serve.py --model runs/<train-run> --max-new-tokens 128 --blocks 10 --concurrency 4

Last line: {"bench": "serve", "ratio": serve rps / bare rps, "rps", "p50_ms", "p99_ms", ...}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "Which riders won an omnium at the Olympic Games, and in which year?",
    "How many riders are from Great Britain?",
    "List the events held at the 2016 World Championships.",
    "Who scored the most points in a single race?",
    "Which country has the most gold medals in track cycling?",
    "What is the average number of points per rider?",
    "Name the riders who finished in the top three more than twice.",
    "In which years did Katie Archibald win a medal?",
]
SCHEMA = ("CREATE TABLE riders (rider_id INTEGER PRIMARY KEY, name VARCHAR(80), country VARCHAR(3));\n"
          "CREATE TABLE track_results (result_id INTEGER PRIMARY KEY, rider_id INTEGER, event VARCHAR(40), "
          "championship VARCHAR(80), year INTEGER, position INTEGER, points INTEGER);")


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def messages(question: str, system_prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt},
            {"role": "user", "content": f"{question}\n\nDatabase schema:\n{SCHEMA}"}]


def client_main(url: str, concurrency: int, bodies_file: str) -> int:
    """The load generator, a process of its own (so it does not share the server's GIL)
    that stays up between blocks: each line ``N`` on stdin sends N requests over
    ``concurrency`` keep-alive connections and prints one JSON line of latencies."""
    import http.client
    from urllib.parse import urlparse

    u = urlparse(url)
    bodies = json.loads(Path(bodies_file).read_text())
    for line in sys.stdin:
        # new connections per block: the server closes a keep-alive connection idle for 5 s
        conns = [http.client.HTTPConnection(u.hostname, u.port, timeout=300) for _ in range(concurrency)]
        latencies: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()
        counter = iter(range(int(line)))

        def worker(conn: http.client.HTTPConnection) -> None:
            for i in counter:  # shared iterator: next() on a range iterator is atomic under the GIL
                t0 = time.perf_counter()
                conn.request("POST", "/v1/chat/completions", body=bodies[i % len(bodies)],
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    statuses.append(resp.status)

        start = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in conns:
            c.close()
        print(json.dumps({"seconds": time.perf_counter() - start, "latencies": latencies, "statuses": statuses}),
              flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short answers, blocks of 4, for 10 s")
    ap.add_argument("--model", default=None, help="model spec (default: the tiny offline student, cold)")
    ap.add_argument("--max-new-tokens", type=int, default=None)
    ap.add_argument("--block", type=int, default=None, help="requests per block (default 16; --quick 4)")
    ap.add_argument("--blocks", type=int, default=None, help="pairs of blocks (default 16; --quick: as many as fit in 10 s)")
    ap.add_argument("--concurrency", type=int, default=1,
                    help="client connections to the server (default 1: latencies compare with the bare calls; "
                         "more measure queueing too)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: steadier when shared)")
    ap.add_argument("--client", nargs=3, metavar=("URL", "C", "BODIES"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        url, c, bodies = args.client
        return client_main(url, int(c), bodies)
    new_tokens = args.max_new_tokens or (32 if args.quick else 64)
    block = args.block or (4 if args.quick else 16)
    blocks = args.blocks or (100 if args.quick else 16)

    import torch

    torch.set_num_threads(args.threads)
    from sqlbench.inference.chat import load_engine
    from sqlbench.prompts import SYSTEM_PROMPT
    from sqlbench.inference.serve import make_server

    spec = args.model
    if spec is None:
        from sqlbench.training.tiny import build_tiny_model

        spec = str(build_tiny_model(ROOT / ".cache" / "bench" / "tiny-cold", warm_steps=0, seed=0))
    engine = load_engine(spec)
    tok, model = engine.tokenizer, engine.model
    # the same stopping rule for both paths: greedy, exactly the token budget
    model.generation_config.eos_token_id = None
    engine.sql_end_id = None
    prompts = [tok(engine.render(messages(q, SYSTEM_PROMPT)), return_tensors="pt", add_special_tokens=False)
               for q in QUESTIONS]
    import tempfile

    bodies = Path(tempfile.mkdtemp(prefix="sqlbench-bench-serve-")) / "bodies.json"
    bodies.write_text(json.dumps([json.dumps({"model": "bench", "max_tokens": new_tokens, "temperature": 0,
                                              "messages": messages(q, SYSTEM_PROMPT)}) for q in QUESTIONS]))

    def bare_block() -> tuple[float, list[float]]:
        # on a thread, like the server's worker (PyTorch's OpenMP behaves differently on the main thread)
        box: dict = {}

        def run() -> None:
            lat = []
            start = time.perf_counter()
            for i in range(block):
                t0 = time.perf_counter()
                with torch.inference_mode():
                    model.generate(**prompts[i % len(prompts)], max_new_tokens=new_tokens, do_sample=False,
                                   pad_token_id=tok.pad_token_id)
                lat.append(time.perf_counter() - t0)
            box["r"] = (time.perf_counter() - start, lat)

        t = threading.Thread(target=run)
        t.start()
        t.join()
        return box["r"]

    srv = make_server(engine, "127.0.0.1", 0, model_name="bench", max_new_tokens=new_tokens, temperature=0.0,
                      quiet=True)
    srv.start_background()

    client = subprocess.Popen([sys.executable, __file__, "--client", srv.url, str(args.concurrency), str(bodies)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def serve_block() -> tuple[float, list[float]]:
        client.stdin.write(f"{block}\n")
        client.stdin.flush()
        line = client.stdout.readline()
        r = json.loads(line) if line.startswith("{") else None
        if r is None or len(r["statuses"]) != block:
            raise SystemExit("the client process failed (see above)")
        bad = [s for s in r["statuses"] if s != 200]
        if bad:
            raise SystemExit(f"the server answered {bad[:5]}")
        return r["seconds"], r["latencies"]

    try:
        print(f"ready in {time.perf_counter() - T0:.1f}s", file=sys.stderr)
        bare_block(), serve_block()  # warm-up: kernels, allocator, tokenizer caches, the client's imports
        ratios, bare_rps, serve_rps, bare_lat, serve_lat = [], [], [], [], []
        budget_end = time.perf_counter() + (10 if args.quick else 900)
        for i in range(blocks):
            if i >= 2 and time.perf_counter() > budget_end:
                print(f"time budget reached after {i} pairs of blocks", file=sys.stderr)
                break
            order = [("bare", bare_block), ("serve", serve_block)]
            if i % 2:
                order.reverse()
            got = {}
            for name, fn in order:
                got[name] = fn()
            (bs, bl), (ss, sl) = got["bare"], got["serve"]
            bare_rps.append(block / bs)
            serve_rps.append(block / ss)
            bare_lat += bl
            serve_lat += sl
            ratios.append(serve_rps[-1] / bare_rps[-1])
    finally:
        client.stdin.close()
        client.wait(timeout=60)
        srv.shutdown()
        srv.server_close()
        bodies.unlink()
        bodies.parent.rmdir()

    ratio = statistics.median(ratios)
    ms = 1000.0
    print(f"bare : {statistics.median(bare_rps):7.1f} req/s, p50 {statistics.median(bare_lat) * ms:.1f} ms, "
          f"p99 {percentile(bare_lat, 0.99) * ms:.1f} ms (model.generate, one at a time)", file=sys.stderr)
    print(f"serve: {statistics.median(serve_rps):7.1f} req/s, p50 {statistics.median(serve_lat) * ms:.1f} ms, "
          f"p99 {percentile(serve_lat, 0.99) * ms:.1f} ms ({args.concurrency} connections; latency includes "
          "the wait in the queue)", file=sys.stderr)
    print(f"ratio: {ratio:.3f} (median of {len(ratios)} per-block ratios, {block} requests of {new_tokens} tokens each)",
          file=sys.stderr)
    print(json.dumps({
        "bench": "serve", "ratio": round(ratio, 4), "rps": round(statistics.median(serve_rps), 2),
        "p50_ms": round(statistics.median(serve_lat) * ms, 2), "p99_ms": round(percentile(serve_lat, 0.99) * ms, 2),
        "bare_rps": round(statistics.median(bare_rps), 2), "bare_p50_ms": round(statistics.median(bare_lat) * ms, 2),
        "bare_p99_ms": round(percentile(bare_lat, 0.99) * ms, 2), "requests": len(serve_lat),
        "concurrency": args.concurrency, "new_tokens": new_tokens, "threads": args.threads, "quick": args.quick,
        "model": str(args.model or "tiny-cold"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
