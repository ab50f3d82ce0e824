"""Serve a model behind an OpenAI-compatible chat API.

POST /v1/chat/completions (plain, or streamed as server-sent chat.completion.chunk
events ending with `data: [DONE]`) and GET /v1/models. Any model name in a request is
answered by the loaded model. Requests are queued through one generation worker
(a full queue answers 503 with Retry-After); bodies over serve.max_body_bytes get 413,
prompts longer than the model's context 400. With --api-key or SERVE_API_KEY every
client must send `Authorization: Bearer KEY` (else 401). Binds to 127.0.0.1 by
default; --port 0 picks a free port. The URL is printed on stdout once the server is
ready:

  sqlbench serve --model runs/<train-run> --port 8000
  curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\
       -d '{"model": "any", "messages": [{"role": "user", "content": "..."}]}'

On a GPU machine `vllm serve MODEL --port 8000` plays the same role."""

from __future__ import annotations

import argparse

from sqlbench.commands.base import load_context


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="M", default=None,
                        help="model folder, train run directory, adapter folder, .gguf file, Hub id or a named "
                             "student: tiny, smollm2-135m (default: config serve.model, else smollm2-135m when "
                             "present offline, else the tiny offline student)")
    parser.add_argument("--gguf-file", metavar="NAME", default=None,
                        help="the GGUF file to use when --model's folder or Hub repo holds several")
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--max-new-tokens", type=int, default=None, metavar="N",
                        help="completion length when a request gives no max_tokens (default 512)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="temperature when a request gives none (default: config temperature)")
    parser.add_argument("--served-model-name", default=None, metavar="NAME",
                        help="the id GET /v1/models reports (default: the --model value)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request on stderr")
    parser.add_argument("--device", default=None, metavar="D",
                        help="torch device: auto (CUDA when present, else CPU), cpu, cuda, cuda:N, mps "
                             "(default: config device, auto)")
    parser.add_argument("--api-key", default=None, metavar="KEY",
                        help="require 'Authorization: Bearer KEY' of every client (default: env SERVE_API_KEY, "
                             "else no key); prefer the environment: a flag is visible to other local users")
    parser.add_argument("--max-body-bytes", type=int, default=None, metavar="N",
                        help="refuse larger request bodies with 413 (default 1048576)")
    parser.add_argument("--max-queue", type=int, default=None, metavar="N",
                        help="requests that may wait for the model; more get 503 with Retry-After (default 64)")


def run(args: argparse.Namespace) -> int:
    import sys

    from sqlbench.inference.chat import load_engine
    from sqlbench.errors import ConfigError
    from sqlbench.inference.serve import Limits, make_server
    from sqlbench.training.tiny import default_tiny_model

    ctx = load_context(args, "serve", {"model": args.model, "gguf_file": args.gguf_file, "host": args.host,
                                        "port": args.port,
                                        "max_new_tokens": args.max_new_tokens, "max_body_bytes": args.max_body_bytes,
                                        "max_queue": args.max_queue},
                       top_flags={"temperature": args.temperature, "device": args.device})
    s = ctx.settings
    cfg = s.serve
    if cfg.model is None:  # the real student when it is present offline, else the tiny one
        from sqlbench.inference.students import default_student

        cfg.model = default_student(s.cache_dir)
    api_key = args.api_key or ctx.secrets.get("serve_api_key")
    if cfg.host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        print(f"sqlbench serve: warning: binding {cfg.host} without an API key (--api-key or SERVE_API_KEY): "
              "anyone who can reach it can use it", file=sys.stderr)
    limits = Limits(max_body_bytes=cfg.max_body_bytes, max_queue=cfg.max_queue,
                    header_timeout=cfg.header_timeout, body_timeout=cfg.body_timeout)
    try:
        server = make_server(None, cfg.host, cfg.port, max_new_tokens=cfg.max_new_tokens,
                             temperature=s.temperature, quiet=args.quiet, limits=limits, api_key=api_key)
    except OSError as e:
        raise ConfigError(f"cannot listen on {cfg.host}:{cfg.port} ({e.strerror or e})") from None
    try:
        print(f"sqlbench serve: loading {cfg.model or 'the tiny offline student'} ...", file=sys.stderr, flush=True)
        engine = load_engine(cfg.model, s, token=ctx.secrets.get("hf_token"), tiny=default_tiny_model)
        server.set_engine(engine, args.served_model_name or cfg.model)
    except BaseException:
        server.server_close()
        raise
    key_note = ", API key required" if api_key else ""
    print(f"sqlbench serve: listening on {server.url} (model {server.model_name}, {engine.name}{key_note})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("sqlbench serve: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
