"""Pure parts of distill: best-sample choice, counts, progress counters and the bar."""

from __future__ import annotations

import io

from sqlbench.distill.dataset import best_samples, counts, final_rows
from sqlbench.distill.progress import Counters, ProgressView
from sqlbench.records import Task


def rec(task_id, idx, *, valid, reason="ok", status="ok", think="t", sql="SELECT 1"):
    return {"task_id": task_id, "sample_index": idx, "valid": valid, "reason": reason, "status": status,
            "think": think, "sql": sql, "completion": f"<think>{think}</think><sql>{sql}</sql>",
            "model": "m", "provider": "OpenAI"}


def test_best_sample_prefers_valid_then_answered_then_earliest():
    records = [rec("a", 0, valid=False, reason="mismatch"), rec("a", 1, valid=True), rec("a", 2, valid=True),
               rec("b", 0, valid=None, status="failed", think="", sql=""), rec("b", 1, valid=False, reason="syntax"),
               rec("c", 0, valid=False, reason="format", think="", sql="x"), rec("c", 1, valid=False, reason="mismatch")]
    best = best_samples(records)
    assert best["a"]["sample_index"] == 1
    assert best["b"]["sample_index"] == 1
    assert best["c"]["sample_index"] == 1  # well-formed beats malformed


def test_final_rows_keep_source_columns_and_filter():
    tasks = [Task("a", "Q a?", "CREATE TABLE t (x INT);", "SELECT 1", row={"id": 7, "sql_prompt": "Q a?", "extra": [1]}),
             Task("b", "Q b?", "CREATE TABLE t (x INT);", "SELECT 2", row={"sql_prompt": "Q b?"})]
    records = [rec("a", 0, valid=True), rec("b", 0, valid=False, reason="mismatch")]
    rows = final_rows(tasks, records, remove_no_valid=False)
    assert [r["id"] for r in rows] == ["a", "b"] and rows[0]["extra"] == [1]
    assert rows[0]["messages"][-1] == {"role": "assistant", "content": "<think>\nt\n</think>\n<sql>\nSELECT 1\n</sql>"}
    assert [r["id"] for r in final_rows(tasks, records, remove_no_valid=True)] == ["a"]


def test_counts_and_counters_agree():
    records = [rec("a", 0, valid=True), rec("b", 0, valid=False, reason="mismatch"),
               rec("c", 0, valid=False, reason="syntax"), rec("d", 0, valid=False, status="failed"),
               rec("e", 0, valid=None, reason=None)]
    c = Counters(total=6)
    for r in records:
        c.add(r)
    snap = c.snapshot()
    summary = counts(records)
    assert snap["done"] == 5 and snap["total"] == 6
    assert snap["valid"] == summary["valid"] == 1
    assert snap["invalid_by_reason"] == summary["invalid_by_reason"] == {"mismatch": 1, "syntax": 1}
    assert snap["failed"] == summary["failed"] == 1 and summary["unjudged"] == 1
    assert "1 valid, 2 invalid (mismatch 1, syntax 1), 1 failed, 1 not validated" in c.summary()


def test_progress_bar_shows_counts_when_enabled():
    out = io.StringIO()
    c = Counters(total=3)
    view = ProgressView(c, "distill test", stream=out, enabled=True)
    c.add(rec("a", 0, valid=True))
    c.add(rec("b", 0, valid=False, reason="mismatch"))
    view.refresh()
    view.close()
    text = out.getvalue()
    assert "2/3" in text and "1 valid" in text and "1 invalid" in text and "mismatch:1" in text


def test_progress_bar_is_silent_when_not_a_terminal():
    out = io.StringIO()  # not a TTY
    view = ProgressView(Counters(total=1), "distill", stream=out)
    view.refresh()
    view.close()
    assert out.getvalue() == ""


def test_unverified_is_counted_apart_from_mismatch():
    from sqlbench.distill.card import dataset_card
    from sqlbench.distill.options import resolve_options
    from sqlbench.config import Secrets, Settings

    records = [rec("a", 0, valid=True), rec("b", 0, valid=False, reason="unverified"),
               rec("c", 0, valid=False, reason="mismatch"), rec("d", 0, valid=False, reason="unverified"),
               rec("d", 1, valid=False, reason="mismatch")]
    c = Counters(total=5)
    for r in records:
        c.add(r)
    snap, summary = c.snapshot(), counts(records)
    assert snap["unverified"] == summary["unverified"] == 2
    assert snap["invalid_by_reason"] == summary["invalid_by_reason"] == {"mismatch": 2}
    assert "1 valid, 2 unverified, 2 invalid (mismatch 2)" in c.summary()
    assert best_samples(records)["d"]["reason"] == "unverified"  # not known wrong beats known wrong
    card = dataset_card(resolve_options(Settings(), Secrets()), "OpenAI", "m", summary, 4)
    assert "| `unverified` (the data cannot tell right from wrong) | 2 |" in card
    assert "| `mismatch` | 2 |" in card
    out = io.StringIO()
    view = ProgressView(c, "distill test", stream=out, enabled=True)
    view.refresh()
    view.close()
    assert "2 unverified" in out.getvalue()
