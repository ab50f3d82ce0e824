"""The dataset card published with a distilled dataset."""

from __future__ import annotations

import time
from typing import Any

from sqlbench.distill.options import DistillOptions
from sqlbench.prompts import SYSTEM_PROMPT

VALIDATION_RULES = """\
Each answer's SQL is run in a sandbox (SQLite/DuckDB built from the task's schema and seed
rows; file access, ATTACH, extensions and PRAGMA refused; time and row limits) and its
result compared with the gold query's result (order-insensitive unless the gold orders
the rows). Verdicts: `ok` (same result), `format` (no `<think>`/`<sql>` blocks), `syntax`,
`execution`, `timeout`, `mismatch`, `unsafe`, `bad_context` (schema does not build),
`gold_error` (the gold query itself fails), `unverified` (the answer runs, but the data cannot
tell right from wrong: for a schema-only context, small test databases are generated from its
DDL and the gold's literals, and the gold returned no rows, or only NULL/0, on every one).
`unverified` rows are not valid and are counted apart from `mismatch`."""


def dataset_card(opts: DistillOptions, provider: str, model: str, summary: dict[str, Any], rows: int) -> str:
    reasons = summary.get("invalid_by_reason") or {}
    verdict_lines = [f"| valid (`ok`) | {summary.get('valid', 0)} |"]
    if summary.get("unverified"):
        verdict_lines += [f"| `unverified` (the data cannot tell right from wrong) | {summary['unverified']} |"]
    verdict_lines += [f"| `{k}` | {v} |" for k, v in sorted(reasons.items())]
    verdict_lines += [f"| request failed | {summary.get('failed', 0)} |"]
    if summary.get("unjudged"):
        verdict_lines += [f"| not validated | {summary['unjudged']} |"]
    leak = ("\n> **Warning: the teacher was shown the gold SQL** (`--hint-gold`). The reasoning explains a "
            "known answer; it was not found independently.\n" if opts.hint_gold else "")
    filt = ("Only rows whose answer validated are kept (`--remove-no-valid`)." if opts.remove_no_valid
            else "All answered rows are kept; `valid` and `reason` give each row's verdict.")
    return f"""---
tags:
- text-to-sql
- reasoning
- distillation
- sqlbench
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---

# SQL reasoning distilled with sqlbench
{leak}
- **Teacher model:** `{model}`
- **Provider:** {provider}
- **Source dataset:** {opts.dataset or 'sqlbench bundled sample'} (split `{opts.split}`)
- **Rows:** {rows} ({opts.num_samples} answer(s) asked per task, best kept)
- **Temperature:** {opts.temperature}, max tokens {opts.max_tokens}
- **Date:** {time.strftime('%Y-%m-%d', time.gmtime())}
- **Validation:** {'on' if opts.validate else 'off'}. {filt}

## Prompt
The teacher saw the system prompt below and a user turn with the question and the
database schema{' and the gold SQL' if opts.hint_gold else ' only (never the gold SQL)'}.

```
{opts.system_prompt or SYSTEM_PROMPT}
```

## Counts by verdict (all samples)
| verdict | samples |
|---|---|
{chr(10).join(verdict_lines)}

## Validation rules
{VALIDATION_RULES}

## Columns
The source columns and `id`, plus `reasoning` (the `<think>` text), `sql_answer`,
`completion` (raw teacher output), `messages` (system/user/assistant, ready for SFT),
`teacher_model`, `provider`, `valid`, `reason`.
"""
