"""The tiny offline student: a byte-level BPE tokenizer trained on the bundled dataset
and a randomly initialised Qwen2 causal LM, built in seconds with no download.

It is the default student wherever no model is configured and the test fixture of the
whole pipeline. Two traps shape the tokenizer:

* transformers 5 rebuilds a Qwen2 tokenizer folder with Qwen's own normaliser and
  pre-tokenizer on reload, so we train with exactly those (NFC + the Split regex +
  ByteLevel without its own regex); otherwise token ids change after a save/load.
* tokens registered as *special* vanish under ``skip_special_tokens`` (TRL decodes
  completions that way, so do streamers), so the answer tags are normal added tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from sqlbench.prompts import SYSTEM_PROMPT, format_answer
from sqlbench.training.templates import CHATML_MARKED

TAGS = ("<think>", "</think>", "<sql>", "</sql>")
PAD, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIALS = (PAD, IM_START, IM_END)
VOCAB_SIZE = 2048
MARKER = "sqlbench-tiny.json"  # written last: its presence means the build is complete
# The warm-up trains on prompts fitted to this many tokens, and a model this small only
# handles prompt lengths it saw: fit prompts for it to the same (distill --max-prompt-length).
PROMPT_TOKENS = 256
WARM_STEPS = 300  # the default student's warm-up (about half its answers well-formed on unseen tasks)

# ChatML, as Qwen uses; {% generation %} marks the assistant text for assistant-only loss
# (the same marked template sqlbench gives a ChatML model whose own template has no markers).
CHAT_TEMPLATE = CHATML_MARKED

MODEL_CONFIG = dict(
    hidden_size=96,
    intermediate_size=256,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=4096,
    rope_theta=10000.0,
    tie_word_embeddings=True,
)

# Always part of the tokenizer corpus, so the vocabulary covers SQL even for tasks
# unlike the bundled ones.
_BASE_CORPUS = """
SELECT DISTINCT FROM WHERE GROUP BY HAVING ORDER BY ASC DESC LIMIT OFFSET JOIN INNER JOIN LEFT JOIN
RIGHT JOIN FULL OUTER JOIN CROSS JOIN ON USING AS AND OR NOT IN IS NULL LIKE BETWEEN EXISTS CASE WHEN
THEN ELSE END UNION ALL INTERSECT EXCEPT WITH RECURSIVE OVER PARTITION BY ROW_NUMBER RANK DENSE_RANK
COUNT SUM AVG MIN MAX ROUND CAST COALESCE strftime julianday date substr length lower upper
INSERT INTO VALUES UPDATE SET DELETE CREATE TABLE VIEW INDEX PRIMARY KEY FOREIGN KEY REFERENCES
INTEGER TEXT REAL NUMERIC VARCHAR DATE BOOLEAN DEFAULT UNIQUE CHECK ; , ( ) * = <> != < > <= >= || .
How many Which What List Show Find Return the of for each with and total number average
"""


def _sample_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "sample" / "tasks.jsonl"


def _sample_rows() -> list[dict]:
    p = _sample_path()
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_key(warm_steps: int, seed: int) -> dict:
    """What a cached build must match: parameters, the code that builds and warms it
    (this file, the warm-up loop, training rows, prompt building, the loader), the data
    it was trained on."""
    import transformers

    here = Path(__file__).parent
    code = b"".join(p.read_bytes() for p in (Path(__file__), here / "sft.py", here / "data.py", here / "templates.py",
                                             here.parent / "prompts.py", here.parent / "data" / "loader.py"))
    src = hashlib.sha256(code).hexdigest()[:16]
    p = _sample_path()
    data = hashlib.sha256(p.read_bytes()).hexdigest()[:16] if p.is_file() else "none"
    return {"warm_steps": int(warm_steps), "seed": int(seed), "source": src, "data": data,
            "transformers": transformers.__version__}


def is_built(out_dir: str | os.PathLike, *, warm_steps: int = 0, seed: int = 0) -> bool:
    marker = Path(out_dir) / MARKER
    try:
        return json.loads(marker.read_text()).get("key") == build_key(warm_steps, seed)
    except (OSError, ValueError):
        return False


def _corpus(rows: list[dict]) -> list[str]:
    texts = [_BASE_CORPUS, SYSTEM_PROMPT, format_answer("reasoning", "SELECT 1;")]
    for r in rows:
        for k in ("sql_prompt", "sql_context", "sql", "sql_explanation", "domain_description"):
            if r.get(k):
                texts.append(str(r[k]))
    return texts


def build_tokenizer(rows: list[dict] | None = None):
    """A transformers fast tokenizer (Qwen2 class) trained on the bundled data."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

    rows = _sample_rows() if rows is None else rows
    tok = Tokenizer(models.BPE(unk_token=None, continuing_subword_prefix="", end_of_word_suffix="",
                               fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
        special_tokens=list(SPECIALS), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_corpus(rows), trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAGS])
    hf = Qwen2Tokenizer(tokenizer_object=tok, eos_token=IM_END, pad_token=PAD, unk_token=None,
                        bos_token=None, model_max_length=MODEL_CONFIG["max_position_embeddings"])
    hf.chat_template = CHAT_TEMPLATE
    hf.padding_side = "left"  # generation pads on the left; trainers set their own side
    return hf


def build_model(tokenizer, seed: int = 0):
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids(IM_END),
        pad_token_id=tokenizer.convert_tokens_to_ids(PAD),
        **MODEL_CONFIG,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id, do_sample=False,
    )
    return model


def build_tiny_model(out_dir: str | os.PathLike, *, warm_steps: int = 0, seed: int = 0,
                     log=None) -> Path:
    """Build the tiny student into ``out_dir`` (cached: a complete build with the same
    parameters, source and data returns at once). ``warm_steps`` > 0 then runs that many
    SFT steps on the bundled tasks (explanation as reasoning, gold as SQL) so the model
    already emits the answer format."""
    out = Path(out_dir)
    if is_built(out, warm_steps=warm_steps, seed=seed):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    # Several processes (parallel test sessions, a TUI and a CLI) may ask for the same
    # build: one builds, the others wait for it and then find it complete.
    with _lock(out.with_name(f".{out.name}.lock")):
        if is_built(out, warm_steps=warm_steps, seed=seed):
            return out
        return _build(out, warm_steps=warm_steps, seed=seed, log=log)


class _lock:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        import fcntl

        self.fh = open(self.path, "a+")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _build(out: Path, *, warm_steps: int, seed: int, log) -> Path:
    key = build_key(warm_steps, seed)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.time()
    try:
        rows = _sample_rows()
        tokenizer = build_tokenizer(rows)
        model = build_model(tokenizer, seed)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if warm_steps > 0:
            from sqlbench.training.sft import warm_up

            warm_up(tmp, steps=warm_steps, seed=seed, max_prompt_tokens=PROMPT_TOKENS, log=log)
        (tmp / MARKER).write_text(json.dumps({"key": key, "built_s": round(time.time() - t0, 2)}, indent=2))
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def default_tiny_model(cache_dir: str | os.PathLike = ".cache/sqlbench", warm_steps: int = WARM_STEPS) -> Path:
    """The embedded default student (warm), built on first use under ``cache_dir``."""
    return build_tiny_model(Path(cache_dir) / f"tiny-model-warm{warm_steps}", warm_steps=warm_steps)
