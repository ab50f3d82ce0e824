#!/usr/bin/env python3
"""fp32 against bf16, and eager against torch.compile, on this CPU for the real student:
generation and a training step.

The same model (default ``smollm2-135m``) is loaded twice, in float32 and in bfloat16,
and the two are measured interleaved (so machine load hits both alike):

  * generation: greedy decoding of --new-tokens tokens from one fixed chat prompt
    (tokens per second, median over --reps);
  * training: one forward + backward pass over a batch of --batch x --seq tokens
    (seconds per step, median over --reps);
  * quality: top-1 agreement of the bf16 model's next-token predictions with fp32's
    over a bundled task's prompt + gold answer, and whether the greedy texts match;
  * torch.compile (CPU inductor) on the fp32 model, interleaved with eager fp32 in the
    same loop: generation through transformers' own compiled decoding (a static KV
    cache, the forward compiled once for one-token steps; the prefill stays eager), and
    the training step through ``torch.compile(model)``. The first call of each is the
    compile, timed apart (``compile_s``). A compile that fails is reported, not fatal.

Last line: {"bench": "dtype", "gen_tps": {"float32", "bfloat16"}, "train_s": {...},
"gen_speedup_bf16", "train_speedup_bf16", "top1_agreement", "same_greedy_text",
"compile": {"gen_tps", "train_s", "compile_s": {"gen", "train"}, "error"},
"gen_speedup_compile", "train_speedup_compile", "same_greedy_text_compile"}.

    python bench/dtype.py [--model smollm2-135m] [--reps 3] [--threads 2] [--quick] [--no-compile]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-dir", default=str(ROOT / ".cache" / "sqlbench"), help="where GGUF conversions live")
    ap.add_argument("--quick", action="store_true", help="1 rep, 16 new tokens, one 128-token sequence")
    ap.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    args = ap.parse_args(argv)
    if args.quick:
        args.reps, args.new_tokens, args.batch, args.seq = 1, 16, 1, 128

    import torch
    from transformers import AutoModelForCausalLM

    from sqlbench.data.loader import load_tasks
    from sqlbench.inference.models import load_model, resolve_model_path
    from sqlbench.prompts import build_messages, format_answer

    torch.set_num_threads(args.threads)
    folder = resolve_model_path(args.model, cache_dir=args.cache_dir)
    m32, tok = load_model(folder)
    m16 = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).eval()
    task = load_tasks()[0]
    msgs = build_messages(task)
    prompt = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    full = tok(prompt + format_answer(task.explanation or "", task.gold_sql), return_tensors="pt",
               add_special_tokens=False)["input_ids"]
    batch = full[:, : args.seq].repeat(args.batch, 1)

    def gen(model, **compiled):
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                 do_sample=False, pad_token_id=tok.pad_token_id, **compiled)
        n = out.shape[1] - enc["input_ids"].shape[1]
        return n / (time.perf_counter() - t0), tok.decode(out[0, enc["input_ids"].shape[1]:])

    def train_step(model, module=None):
        module = model if module is None else module  # a compiled wrapper: same parameters, no truth value
        model.train()
        t0 = time.perf_counter()
        loss = module(input_ids=batch, labels=batch).loss
        loss.backward()
        model.zero_grad(set_to_none=True)
        model.eval()
        return time.perf_counter() - t0

    comp = {"gen_tps": [], "train_s": [], "compile_s": {}, "error": None}
    texts_c = None
    compiled_gen: dict = {}
    compiled_train = None
    if not args.no_compile:
        # generate() compiles its one-token decoding step when the KV cache is static; on
        # CPU only when asked (_compile_all_devices). "default" mode: CUDA graphs
        # (reduce-overhead, transformers' default) do not exist on CPU.
        from transformers import CompileConfig

        cc = CompileConfig(mode="default")
        cc._compile_all_devices = True
        compiled_gen = {"cache_implementation": "static", "compile_config": cc}
        try:
            t0 = time.perf_counter()
            gen(m32, **compiled_gen)
            comp["compile_s"]["gen"] = round(time.perf_counter() - t0, 1)
            compiled_train = torch.compile(m32)
            comp["compile_s"]["train"] = round(train_step(m32, compiled_train), 1)
        except Exception as e:  # noqa: BLE001 - a compiler failure is a result to report
            comp["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
            compiled_gen, compiled_train = {}, None
            print(f"torch.compile failed: {comp['error']}", file=sys.stderr)

    gen_tps = {"float32": [], "bfloat16": []}
    train_s = {"float32": [], "bfloat16": []}
    texts = {}
    gen(m32), gen(m16)  # warm-up
    for _ in range(args.reps):
        for name, model in (("float32", m32), ("bfloat16", m16)):
            tps, texts[name] = gen(model)
            gen_tps[name].append(tps)
            train_s[name].append(train_step(model))
        if compiled_train is not None:
            tps, texts_c = gen(m32, **compiled_gen)
            comp["gen_tps"].append(tps)
            comp["train_s"].append(train_step(m32, compiled_train))
    with torch.no_grad():
        a = m32(full).logits.argmax(-1)
        b = m16(full).logits.argmax(-1)
    agree = float((a == b).float().mean())
    med = {k: round(statistics.median(v), 2) for k, v in gen_tps.items()}
    tmed = {k: round(statistics.median(v), 3) for k, v in train_s.items()}
    print(f"generation tokens/s: fp32 {med['float32']}, bf16 {med['bfloat16']}; train step s "
          f"({args.batch}x{full[:, :args.seq].shape[1]} tokens): fp32 {tmed['float32']}, bf16 {tmed['bfloat16']}; "
          f"top-1 agreement {agree:.3f}", file=sys.stderr)
    gen_c = train_c = None
    if comp["gen_tps"]:
        comp["gen_tps"] = round(statistics.median(comp["gen_tps"]), 2)
        comp["train_s"] = round(statistics.median(comp["train_s"]), 3)
        gen_c = round(comp["gen_tps"] / med["float32"], 3)
        train_c = round(tmed["float32"] / comp["train_s"], 3)
        print(f"torch.compile (fp32): generation {comp['gen_tps']} tokens/s ({gen_c}x eager), train step "
              f"{comp['train_s']} s ({train_c}x eager); compiling took {comp['compile_s']} s", file=sys.stderr)
    else:
        comp["gen_tps"] = comp["train_s"] = None
    print(json.dumps({"bench": "dtype", "model": args.model, "threads": args.threads, "gen_tps": med,
                      "train_s": tmed, "gen_speedup_bf16": round(med["bfloat16"] / med["float32"], 3),
                      "train_speedup_bf16": round(tmed["float32"] / tmed["bfloat16"], 3),
                      "top1_agreement": round(agree, 4), "same_greedy_text": texts["float32"] == texts["bfloat16"],
                      "compile": comp, "gen_speedup_compile": gen_c, "train_speedup_compile": train_c,
                      "same_greedy_text_compile": None if texts_c is None else texts_c == texts["float32"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
