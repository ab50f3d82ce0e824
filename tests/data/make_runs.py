"""Write the fixed run directories the TUI's snapshot tests read (tests/data/runs/).

Everything is deterministic (fixed clock, no randomness) so the committed output and
the snapshots never drift. Rerun after changing it:

    .venv/bin/python tests/data/make_runs.py
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

ROOT = Path(__file__).parent / "runs"
T0 = 1767268800.0  # 2026-01-01 12:00:00 UTC

SCHEMA = (
    "CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT, dept TEXT, salary REAL);\n"
    "INSERT INTO employees VALUES (1, 'Ada', 'eng', 120.0), (2, 'Bob', 'ops', 80.0), (3, 'Cy', 'eng', 95.0);"
)
ORDERS = (
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL, placed DATE);\n"
    "INSERT INTO orders VALUES (1, 'acme', 10.5, '2024-01-02'), (2, 'acme', 4.0, '2024-02-03'), (3, 'zeta', 7.25, '2024-02-09');"
)

# (question, context, gold, think, candidate sql, outcome, detail, expected, got)
SAMPLES = [
    ("How many employees work in eng?", SCHEMA, "SELECT COUNT(*) FROM employees WHERE dept = 'eng'",
     "Count rows of employees filtered on dept = 'eng'.", "SELECT COUNT(*) FROM employees WHERE dept = 'eng'",
     "ok", "", None, None),
    ("What is the total of acme's orders?", ORDERS, "SELECT SUM(total) FROM orders WHERE customer = 'acme'",
     "Sum the totals of the orders whose customer is acme.", "SELECT SUM(total) FROM orders WHERE customer = 'acme'",
     "ok", "", None, None),
    ("Who earns the most?", SCHEMA, "SELECT name FROM employees ORDER BY salary DESC LIMIT 1",
     "Sort by salary and take the first name.", "SELECT name FROM employees ORDER BY salary ASC LIMIT 1",
     "mismatch", "result sets differ: expected 1 row ['Ada'], got 1 row ['Bob']", [["Ada"]], [["Bob"]]),
    ("List the departments.", SCHEMA, "SELECT DISTINCT dept FROM employees",
     "Distinct departments from employees.", "SELEC DISTINCT dept FROM employees",
     "syntax", "Invalid expression / Unexpected token. Line 1, Col: 5.", None, None),
    ("Average salary per department?", SCHEMA, "SELECT dept, AVG(salary) FROM employees GROUP BY dept",
     "Group employees by dept and average the salary.", "SELECT dept, AVG(pay) FROM employees GROUP BY dept",
     "execution", "no such column: pay", None, None),
    ("Orders placed in February 2024?", ORDERS,
     "SELECT id FROM orders WHERE placed BETWEEN '2024-02-01' AND '2024-02-29'",
     "Filter orders by the placed date in February.", "", "format", "no <sql> block in the answer", None, None),
    ("Which customer spent the most?", ORDERS,
     "SELECT customer FROM orders GROUP BY customer ORDER BY SUM(total) DESC LIMIT 1",
     "", "", "failed", "", None, None),
    ("How many orders does zeta have?", ORDERS, "SELECT COUNT(*) FROM orders WHERE customer = 'zeta'",
     "Count zeta's orders.", "SELECT COUNT(*) FROM orders WHERE customer = 'zeta'", "ok", "", None, None),
    ("Names of employees in ops?", SCHEMA, "SELECT name FROM employees WHERE dept = 'ops'",
     "Select names where dept is ops.", "SELECT name FROM employees WHERE dept = 'eng'",
     "mismatch", "result sets differ: expected 1 row, got 2 rows", [["Bob"]], [["Ada"], ["Cy"]]),
    ("Drop the employees table.", SCHEMA, "SELECT 1",
     "The user wants the table gone.", "DROP TABLE employees", "unsafe", "only read-only statements are allowed",
     None, None),
    ("Highest order total?", ORDERS, "SELECT MAX(total) FROM orders",
     "Take the maximum of total.", "SELECT MAX(total) FROM orders", "ok", "", None, None),
    ("Employees earning over 90?", SCHEMA, "SELECT name FROM employees WHERE salary > 90",
     "Filter on salary above 90.", "SELECT name FROM employees WHERE salary > 90", "ok", "", None, None),
]


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def distill_run(path: Path, *, finished: bool, t0: float = T0) -> None:
    path.mkdir(parents=True)
    n = len(SAMPLES) if finished else 7
    total = len(SAMPLES)
    samples, events = [], [{"t": t0, "type": "started", "total": total}]
    outcomes: dict[str, int] = {}
    for i, (q, ctx, gold, think, sql, outcome, detail, expected, got) in enumerate(SAMPLES[:n]):
        t = t0 + 2.0 * (i + 1)
        failed = outcome == "failed"
        verdict = None if failed else {
            "valid": outcome == "ok", "reason": outcome, "detail": detail, "sql": sql,
            **({"expected": expected} if expected is not None else {}), **({"got": got} if got is not None else {}),
        }
        completion = "" if failed else (f"<think>{think}</think>\n<sql>{sql}</sql>" if sql else f"<think>{think}</think>")
        samples.append({
            "task_id": f"task-{i:03d}", "question": q, "context": ctx, "gold_sql": gold, "think": think,
            "sql": sql, "completion": completion, "verdict": verdict, "valid": outcome == "ok",
            "reason": None if failed else outcome, "latency_s": round(0.4 + 0.13 * i, 2),
            "attempts": 4 if failed else 1 + (i % 3 == 2), "status": "failed" if failed else "ok",
            "error": "ProviderError: teacher returned HTTP 503 after 4 attempts" if failed else None,
        })
        key = "failed" if failed else ("valid" if outcome == "ok" else outcome)
        outcomes[key] = outcomes.get(key, 0) + 1
        events.append({"t": t, "type": "failed" if failed else "sample", "task_id": f"task-{i:03d}",
                       **({} if failed else {"valid": outcome == "ok", "reason": outcome})})
        done = i + 1
        invalid = {k: v for k, v in outcomes.items() if k not in ("valid", "failed")}
        events.append({"t": t, "type": "progress", "done": done, "total": total,
                       "valid": outcomes.get("valid", 0), "invalid_by_reason": invalid,
                       "failed": outcomes.get("failed", 0), "samples_per_s": 0.5,
                       "eta_s": round((total - done) / 0.5, 1)})
    if finished:
        events.append({"t": t0 + 2.0 * n + 1, "type": "finished", "status": "finished"})
    _write(path / "samples.jsonl", samples)
    _write(path / "events.jsonl", events)
    info = {"kind": "distill", "status": "finished" if finished else "running", "pid": None, "host": None,
            "argv": ["sqlbench", "distill", "--limit", str(total), "--run-dir", str(path.name)],
            "started": t0, "resumed_at": None, "finished": t0 + 2.0 * n + 1 if finished else None, "error": None}
    (path / "run.json").write_text(json.dumps(info, indent=2) + "\n")
    (path / "config.yaml").write_text(
        "distill:\n  provider: OpenAI\n  model: teacher-model\n  limit: 12\n  batch_size: 4\n")


REWARDS = ("format", "syntax", "execution", "schema")


def train_run(path: Path) -> None:
    path.mkdir(parents=True)
    metrics, events, completions = [], [{"t": T0 + 3600, "type": "started"}], []
    events.append({"t": T0 + 3600, "type": "stage", "stage": "sft"})
    steps = 40
    for step in range(1, steps + 1):
        t = T0 + 3600 + 5 * step
        stage = "sft" if step <= 10 else "grpo"
        if step == 11:
            events.append({"t": t, "type": "stage", "stage": "grpo"})
        if stage == "sft":
            rec = {"step": step, "stage": stage, "loss": round(3.0 * math.exp(-step / 4) + 0.4, 4),
                   "learning_rate": 2e-4 * (1 - step / 10 * 0.5)}
        else:
            g = step - 10
            reward = round(0.4 + 1.8 * (1 - math.exp(-g / 10)) + 0.1 * math.sin(g), 4)
            rec = {"step": step, "stage": stage, "loss": round(0.02 * math.sin(g / 3), 5), "reward": reward,
                   "reward_std": round(0.5 * math.exp(-g / 25) + 0.05, 4),
                   "kl": round(0.002 * g + 0.0005 * math.cos(g), 5),
                   "frac_reward_zero_std": round(max(0.0, 0.5 - g / 60), 3),
                   "completions/mean_length": round(80 + 30 * math.exp(-g / 12), 1),
                   "learning_rate": 5e-5 * (1 - g / 30)}
            for k, name in enumerate(REWARDS):
                rec[f"rewards/{name}/mean"] = round(min(1.0, 0.2 + 0.025 * g * (k + 1) / 2), 4)
            if g % 10 == 0:
                rec["eval/execution_accuracy"] = round(0.1 + 0.15 * g / 10, 3)
        metrics.append(rec)
        events.append({"t": t, "type": "step", "stage": stage, "step": step, "max_steps": steps,
                       "eta_s": 5 * (steps - step)})
    for j in range(6):
        ok = j % 2 == 0
        completions.append({  # as sqlbench train's completions callback writes them
            "step": 30 + 2 * j, "stage": "grpo", "prompt": SAMPLES[j][0],
            "completion": f"<think>{SAMPLES[j][3]}</think>\n<sql>{SAMPLES[j][4] if ok else 'SELECT 1'}</sql>",
            "rewards": {"format": 1.0, "syntax": 1.0, "execution": 1.0 if ok else 0.0, "schema": 0.5 + 0.5 * ok},
            "advantage": 0.75 if ok else -0.75, "gold_sql": SAMPLES[j][2],
        })
    events.append({"t": T0 + 3600 + 5 * steps + 1, "type": "finished", "status": "finished"})
    _write(path / "metrics.jsonl", metrics)
    _write(path / "events.jsonl", events)
    _write(path / "completions.jsonl", completions)
    info = {"kind": "train", "status": "finished", "pid": None, "host": None,
            "argv": ["sqlbench", "train", "--max-steps", str(steps), "--run-dir", str(path.name)],
            "started": T0 + 3600, "resumed_at": None, "finished": T0 + 3600 + 5 * steps + 1, "error": None}
    (path / "run.json").write_text(json.dumps(info, indent=2) + "\n")
    (path / "config.yaml").write_text("train:\n  stage: both\n  max_steps: 40\n")


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    distill_run(ROOT / "20260101-120000-distill", finished=True)
    train_run(ROOT / "20260101-130000-train")
    distill_run(ROOT / "20260101-140000-distill", finished=False, t0=T0 + 7200)  # "running" with no live pid: interrupted


if __name__ == "__main__":
    main()
