"""The chat engine: one loaded model, a conversation, live think/sql deltas, and the
answer's SQL run read-only on the user's database.

Used by ``sqlbench chat`` (rich REPL), ``sqlbench serve`` (through :class:`Engine`) and
the workbench's Chat screen::

    s = ChatSession(model_spec, settings=settings, db="cycling.sqlite")
    for d in s.stream("Who won the omnium in 2016?"):   # Delta(part, text) as tokens arrive
        ...
    s.last_answer          # Answer(think, sql, well_formed)
    s.run_sql(s.last_answer.sql)   # QueryResult(columns, rows, truncated, error)

Generation runs in a background thread feeding a queue (text coalesced to at most 20
updates a second, the first at once), so ``cancel()`` from any
thread stops it within one token.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from sqlbench.inference.dbconn import Database, QueryResult, connect
from sqlbench.errors import SqlbenchError
from sqlbench.prompts import SYSTEM_PROMPT, parse_answer
from sqlbench.records import Answer
from sqlbench.inference.streaming import Delta, StreamSplitter

if TYPE_CHECKING:
    from sqlbench.inference.models import TinyStudent

__all__ = ["ChatSession", "Delta", "Engine", "GenParams", "GenResult", "PromptTooLong", "QueryResult", "load_engine"]


class PromptTooLong(SqlbenchError, ValueError):
    """The rendered prompt does not fit the model's context window."""


@dataclass
class GenParams:
    max_new_tokens: int = 512
    temperature: float = 0.7
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] = field(default_factory=list)  # cut the output before any of these
    stop_at_sql_end: bool = False  # chat: the answer is complete at </sql>
    # text leaves the generator at most this often (the first piece at once); 0 = every token
    emit_every_s: float = 0.05


@dataclass
class GenResult:
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # stop | length | cancelled
    first_token_s: float | None = None  # seconds from start to the first text


class _StopTrimmer:
    """Cuts the stream before the first stop string; holds back a possible prefix."""

    def __init__(self, stops: list[str], emit: Callable[[str], None]) -> None:
        self.stops = [s for s in stops if s]
        self.emit = emit
        self.buf = ""
        self.hit = False

    def feed(self, text: str) -> None:
        if self.hit:
            return
        if not self.stops:
            self.emit(text)
            return
        self.buf += text
        cut = min((i for i in (self.buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.hit = True
            if cut:
                self.emit(self.buf[:cut])
            self.buf = ""
            return
        keep = max(len(s) - 1 for s in self.stops)
        # release everything that cannot be the start of a stop string
        safe = len(self.buf)
        for n in range(min(keep, len(self.buf)), 0, -1):
            if any(s.startswith(self.buf[-n:]) for s in self.stops):
                safe = len(self.buf) - n
                break
        if safe:
            self.emit(self.buf[:safe])
            self.buf = self.buf[safe:]

    def close(self) -> None:
        if self.buf and not self.hit:
            self.emit(self.buf)
        self.buf = ""


class Engine:
    """A loaded model that turns chat messages into streamed text (transformers on CPU).

    ``generate`` blocks the calling thread and calls ``on_text`` with each new piece of
    decoded text. One generation at a time: concurrent callers (a chat session and a
    server sharing the engine) wait on a lock.
    """

    name = "transformers"

    def __init__(self, model: Any, tokenizer: Any, *, model_id: str = "") -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.sql_end_id = self._single_token_id("</sql>")
        limit = getattr(model.config, "max_position_embeddings", None) or 4096
        self.max_positions = int(limit)
        self._lock = threading.Lock()

    def _single_token_id(self, text: str) -> int | None:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return ids[0] if len(ids) == 1 else None

    def render(self, messages: list[dict[str, str]]) -> str:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # a base model without a template: a plain transcript
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n\n".join(lines) + "\n\nAssistant:"

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return len(self.tokenizer(self.render(messages), add_special_tokens=False)["input_ids"])

    def generate(self, messages: list[dict[str, str]], params: GenParams, on_text: Callable[[str], None],
                 stop_event: threading.Event | None = None) -> GenResult:
        import torch

        tok, model = self.tokenizer, self.model
        prompt = self.render(messages)
        enc = tok(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
        n_prompt = int(enc["input_ids"].shape[1])
        max_new = max(1, min(params.max_new_tokens, self.max_positions - n_prompt))
        if n_prompt >= self.max_positions:
            raise PromptTooLong(f"the prompt is {n_prompt} tokens, the model takes at most {self.max_positions} "
                                "(a smaller schema or a shorter question)")
        result = GenResult(prompt_tokens=n_prompt)
        t0 = time.perf_counter()
        stop_event = stop_event or threading.Event()
        pieces: list[str] = []

        def emit(text: str) -> None:
            if result.first_token_s is None:
                result.first_token_s = time.perf_counter() - t0
            pieces.append(text)
            on_text(text)

        trimmer = _StopTrimmer(params.stop, emit)
        sql_end = self.sql_end_id if params.stop_at_sql_end else None

        def should_stop(last_id: int) -> bool:
            return stop_event.is_set() or trimmer.hit or (sql_end is not None and last_id == sql_end)

        # stop strings are matched on text, so with any set every token is decoded at once
        every = 0.0 if trimmer.stops else params.emit_every_s
        streamer = _IncrementalDecoder(tok, trimmer.feed, should_stop, every_s=every)
        kwargs: dict[str, Any] = dict(max_new_tokens=max_new, streamer=streamer, pad_token_id=tok.pad_token_id)
        if params.temperature and params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature)
            if params.top_p is not None:
                kwargs["top_p"] = params.top_p
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stopped = False
        with self._lock, torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            try:
                model.generate(**enc, **kwargs)
            except _StopGeneration:
                stopped = True
                streamer.end()
        trimmer.close()
        result.text = "".join(pieces)
        result.completion_tokens = len(streamer.ids)
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        last = streamer.ids[-1] if streamer.ids else None
        if stop_event.is_set():
            result.finish_reason = "cancelled"
        elif stopped or trimmer.hit or last in eos_ids:
            result.finish_reason = "stop"
        elif result.completion_tokens >= max_new:
            result.finish_reason = "length"
        return result


class _StopGeneration(Exception):
    """Raised from the streamer to end model.generate at once (cancel, </sql>, a stop
    string): cheaper than a StoppingCriteria, which costs tensor ops on every token."""


class _IncrementalDecoder:
    """A transformers streamer that decodes each new token once: the tokenizers
    library's DecodeStream (Rust, holds back incomplete UTF-8 sequences), or the
    prefix/read-offset scheme for slow tokenizers. The stock TextIteratorStreamer
    re-decodes the whole line per token.

    With ``every_s`` > 0, token ids are collected and decoded together at most every
    ``every_s`` seconds (the first text still goes out at once): a decoder call and a
    consumer wake-up per token cost a fast model several percent of its speed, and
    nobody reads faster than 20 updates a second. Stop checks stay per token."""

    def __init__(self, tokenizer: Any, on_text: Callable[[str], None],
                 should_stop: Callable[[int], bool] = lambda _id: False, every_s: float = 0.0) -> None:
        self.tok = tokenizer
        self.on_text = on_text
        self.should_stop = should_stop
        self.every_s = every_s
        self.ids: list[int] = []
        self.fed = 0  # ids handed to the decoder so far
        self.sent: list[str] = []
        self.prompt_seen = False
        self.last_emit = 0.0
        self.backend = getattr(tokenizer, "backend_tokenizer", None)
        self.stream = None
        if self.backend is not None:
            try:
                from tokenizers.decoders import DecodeStream

                self.stream = DecodeStream(skip_special_tokens=True)
            except ImportError:  # tokenizers < 0.21
                pass
        self.prefix = 0
        self.read = 0

    def _decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=True)

    def _send(self, text: str) -> None:
        self.sent.append(text)
        self.on_text(text)

    def _flush(self) -> None:
        """Decode the ids not yet fed to the decoder and send any new text."""
        new = self.ids[self.fed:]
        if not new:
            return
        self.fed = len(self.ids)
        if self.stream is not None:
            text = self.stream.step(self.backend, new[0] if len(new) == 1 else new)
            if text:
                self._send(text)
        else:
            before = self._decode(self.ids[self.prefix:self.read])
            now = self._decode(self.ids[self.prefix:])
            if len(now) > len(before) and not now.endswith("\ufffd"):
                self.prefix, self.read = self.read, len(self.ids)
                self._send(now[len(before):])

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first passes the prompt
            self.prompt_seen = True
            return
        new = value.reshape(-1).tolist()
        self.ids.extend(new)
        now = time.perf_counter() if self.every_s else 0.0
        if not self.sent or now - self.last_emit >= self.every_s:
            self.last_emit = now
            self._flush()
        if self.should_stop(new[-1]):
            raise _StopGeneration

    def end(self) -> None:
        """Flush what is pending or held back (e.g. an incomplete character at the end)."""
        self._flush()
        if self.ids:
            full, sent = self._decode(self.ids), "".join(self.sent)
            if len(full) > len(sent) and full.startswith(sent):
                self._send(full[len(sent):])
        self.prefix = self.read = len(self.ids)


class VllmEngine(Engine):
    """vLLM on CUDA: the whole answer at once (vLLM's offline API does not stream)."""

    name = "vllm"

    def __init__(self, llm: Any, tokenizer: Any, *, model_id: str = "", lora_request: Any = None) -> None:
        self.llm = llm
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.lora_request = lora_request  # a train run's adapter on its base (sqlbench.inference.vllm_load)
        self.sql_end_id = None
        self.max_positions = int(llm.llm_engine.model_config.max_model_len)

    def generate(self, messages, params, on_text, stop_event=None) -> GenResult:
        from vllm import SamplingParams

        prompt = self.render(messages)
        stops = list(params.stop) + (["</sql>"] if params.stop_at_sql_end else [])
        sp = SamplingParams(max_tokens=params.max_new_tokens, temperature=params.temperature,
                            top_p=params.top_p or 1.0, seed=params.seed, stop=stops or None,
                            include_stop_str_in_output=params.stop_at_sql_end)
        t0 = time.perf_counter()
        lora = {"lora_request": self.lora_request} if self.lora_request is not None else {}
        out = self.llm.generate([prompt], sp, use_tqdm=False, **lora)[0]
        text = out.outputs[0].text
        if params.stop_at_sql_end and "</sql>" in text:
            text = text[: text.index("</sql>") + len("</sql>")]
        on_text(text)
        return GenResult(text=text, prompt_tokens=len(out.prompt_token_ids),
                         completion_tokens=len(out.outputs[0].token_ids),
                         finish_reason=out.outputs[0].finish_reason or "stop",
                         first_token_s=time.perf_counter() - t0)


def _vllm_available() -> bool:
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def load_engine(model_spec: str | None, settings: Any = None, *, announce: Callable[[str], None] | None = None,
                token: str | None = None, tiny: TinyStudent | None = None) -> Engine:
    """Load ``model_spec`` once: vLLM when CUDA and vllm are present (a train run's LoRA
    adapter on its base through vLLM's LoRA support), else transformers on the configured
    device (``auto``: CUDA when present, else CPU). ``None`` is the tiny offline student, which ``tiny`` builds
    (models.resolve_model_path)."""
    from sqlbench.devices import pick_device
    from sqlbench.inference.models import load_model, resolve_model_path

    cache_dir = getattr(settings, "cache_dir", ".cache/sqlbench")
    say = announce or (lambda msg: print(msg, file=sys.stderr))
    want = getattr(settings, "device", "auto") or "auto"
    # a missing folder fails here, before torch is imported
    where = resolve_model_path(model_spec, cache_dir=cache_dir, tiny=tiny) if model_spec is not None else None
    device = pick_device(want)  # a device this machine lacks: one line, before any weights load
    if model_spec is not None and device == "cuda" and _vllm_available():  # cuda:N: transformers on that GPU
        from sqlbench.inference.vllm_load import load_llm, vllm_target

        target = vllm_target(where, cache_dir=cache_dir)
        how = f" (base {target.model} + LoRA adapter {target.lora})" if target.lora else ""
        say(f"sqlbench: using vLLM on CUDA for {model_spec}{how}")
        llm, lora = load_llm(target, tensor_parallel_size=getattr(settings, "tensor_parallel_size", 1))
        return VllmEngine(llm, llm.get_tokenizer(), model_id=str(model_spec), lora_request=lora)
    model, tokenizer = load_model(model_spec, device=device, cache_dir=cache_dir, token=token, tiny=tiny)
    return Engine(model, tokenizer, model_id=str(model_spec) if model_spec else "sqlbench-tiny")


def user_turn(question: str, schema: str) -> str:
    """The user message as the model was trained on (prompts.user_message)."""
    return f"{question}\n\nDatabase schema:\n{schema.strip()}" if schema.strip() else question


_DONE = object()


class ChatSession:
    """A conversation with one loaded model, optionally over a read-only database.

    ``model_spec`` is a model folder, a run directory, an adapter folder, a Hub id, or
    ``None`` for the tiny offline student (which ``tiny`` builds); an already loaded
    :class:`Engine` is reused. ``db`` is a path/URL (opened read-only) or an open :class:`Database`.
    """

    def __init__(self, model_spec: Any = None, *, settings: Any = None, db: Any = None,
                 system_prompt: str | None = None, engine: Engine | None = None,
                 tiny: TinyStudent | None = None) -> None:
        from sqlbench.config import Settings

        self.settings = settings or Settings()
        self.engine = engine or (model_spec if isinstance(model_spec, Engine)
                                 else load_engine(model_spec, self.settings, tiny=tiny))
        self.system_prompt = system_prompt or self.settings.system_prompt or SYSTEM_PROMPT
        v = self.settings.validate_
        if db is None or isinstance(db, Database):
            self.db: Database | None = db
        else:
            self.db = connect(str(db), timeout=v.timeout, max_rows=v.max_rows, max_memory_mb=v.max_memory_mb)
        self.schema_text = self.db.schema_text() if self.db else ""
        self.history: list[dict[str, str]] = []  # user/assistant turns, questions without the schema
        self.last_answer: Answer | None = None
        self.last_result: GenResult | None = None
        self._cancel = threading.Event()
        self._busy = threading.Lock()

    # ---- conversation -----------------------------------------------------------------
    def params(self) -> GenParams:
        return GenParams(max_new_tokens=self.settings.chat.max_new_tokens,
                         temperature=self.settings.temperature, stop_at_sql_end=True)

    def messages_for(self, question: str) -> list[dict[str, str]]:
        """System prompt, earlier turns, then the question with the schema (as in training).
        The oldest turns are dropped when the prompt would not fit the model."""
        turns = list(self.history)
        budget = self.engine.max_positions - self.params().max_new_tokens
        while True:
            msgs = [{"role": "system", "content": self.system_prompt}, *turns,
                    {"role": "user", "content": user_turn(question, self.schema_text)}]
            if not turns or self.engine.count_tokens(msgs) <= budget:
                return msgs
            turns = turns[2:]

    def stream(self, question: str) -> Iterator[Delta]:
        """Deltas of the answer as they are generated; the turn joins the history when
        the generation ends (also when cancelled: what was said stays said)."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("this chat session is already answering")
        try:
            self._cancel.clear()
            msgs = self.messages_for(question)
            start = "think" if self.engine.render(msgs).rstrip().endswith("<think>") else "text"
            splitter = StreamSplitter(start)
            q: queue.Queue = queue.Queue()
            box: dict[str, Any] = {}

            def work() -> None:
                try:
                    # the engine already coalesces text (GenParams.emit_every_s), so each
                    # put is one wake-up of this consumer at most 20 times a second
                    box["result"] = self.engine.generate(msgs, self.params(), q.put, self._cancel)
                except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
                    box["error"] = e
                finally:
                    q.put(_DONE)

            worker = threading.Thread(target=work, name="sqlbench-chat-generate", daemon=True)
            worker.start()
            text: list[str] = []
            try:
                done = False
                while not done:
                    batch = [q.get()]
                    while True:  # when the consumer lags, take everything waiting in one go
                        try:
                            batch.append(q.get_nowait())
                        except queue.Empty:
                            break
                    if batch[-1] is _DONE:
                        done = True
                        batch.pop()
                    if batch:
                        chunk = "".join(batch)
                        text.append(chunk)
                        yield from splitter.feed(chunk)
                yield from splitter.flush()
            finally:
                self._cancel.set()  # consumer gone early: stop generating
                worker.join()
            if "error" in box:
                raise box["error"]
            full = "".join(text)
            if start == "think":
                full = "<think>" + full
            self.last_result = box.get("result")
            self.last_answer = parse_answer(full)
            self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": full}]
        finally:
            self._busy.release()

    def ask(self, question: str) -> Answer:
        """Answer without streaming (scripts, tests)."""
        for _ in self.stream(question):
            pass
        return self.last_answer

    def cancel(self) -> None:
        """Stop the current generation (thread-safe; returns at once)."""
        self._cancel.set()

    def reset(self) -> None:
        self.history.clear()
        self.last_answer = None
        self.last_result = None

    # ---- the database -----------------------------------------------------------------
    def run_sql(self, sql: str | None = None) -> QueryResult:
        """Run ``sql`` (default: the last answer's SQL) read-only on the database."""
        if self.db is None:
            return QueryResult(error="no database connected (start the chat with --db)")
        if sql is None:
            sql = self.last_answer.sql if self.last_answer else ""
        if not sql.strip():
            return QueryResult(error="the answer has no SQL to run")
        return self.db.execute(sql)

    def close(self) -> None:
        self.cancel()
        if self.db is not None:
            self.db.close()
