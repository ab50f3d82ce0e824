"""The loader reads every local source kind the same way, selects rows consistently,
and turns bad input into one clear DatasetError."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from sqlbench.data.loader import DEFAULT_DATASET, load_rows, load_tasks, select_indices, task_from_row
from sqlbench.errors import DatasetError
from tests.fixtures.datasets import GRETEL_ROWS, distilled_rows, write_jsonl

IDS = [str(r["id"]) for r in GRETEL_ROWS]


def _write_parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_gretel_jsonl_maps_every_field(gretel_jsonl):
    tasks = load_tasks(gretel_jsonl)
    assert [t.id for t in tasks] == IDS
    t = tasks[1]
    src = GRETEL_ROWS[1]
    assert t.question == src["sql_prompt"]
    assert t.context == src["sql_context"]
    assert t.gold_sql == src["sql"]
    assert t.explanation == src["sql_explanation"]
    assert t.metadata == {"domain": "retail", "sql_complexity": "aggregation", "sql_task_type": "analytics and reporting"}
    assert t.row == src  # the original row, unchanged (id stays an int)


@pytest.mark.parametrize("kind", ["json", "json_lines_named_json", "json_split_object", "csv", "parquet"])
def test_each_local_file_format_gives_the_same_tasks(tmp_path, gretel_jsonl, kind):
    expected = load_tasks(gretel_jsonl)
    if kind == "json":
        path = tmp_path / "rows.json"
        path.write_text(json.dumps(GRETEL_ROWS))
    elif kind == "json_lines_named_json":  # what Dataset.to_json writes
        path = write_jsonl(tmp_path / "rows.json", GRETEL_ROWS)
    elif kind == "json_split_object":
        path = tmp_path / "rows.json"
        path.write_text(json.dumps({"train": GRETEL_ROWS, "test": GRETEL_ROWS[:1]}))
    elif kind == "csv":
        path = _write_csv(tmp_path / "rows.csv", GRETEL_ROWS)
    else:
        path = _write_parquet(tmp_path / "rows.parquet", GRETEL_ROWS)
    got = load_tasks(path)
    assert [(t.id, t.question, t.context, t.gold_sql, t.explanation, dict(t.metadata)) for t in got] == [
        (t.id, t.question, t.context, t.gold_sql, t.explanation, dict(t.metadata)) for t in expected
    ]


def test_json_object_picks_the_requested_split(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps({"train": GRETEL_ROWS, "test": GRETEL_ROWS[:1]}))
    assert [t.id for t in load_tasks(path, split="test")] == ["1"]


def test_shuffle_is_seeded_and_limit_comes_after_it(gretel_jsonl):
    a = [t.id for t in load_tasks(gretel_jsonl, shuffle=True, seed=7)]
    b = [t.id for t in load_tasks(gretel_jsonl, shuffle=True, seed=7)]
    c = [t.id for t in load_tasks(gretel_jsonl, shuffle=True, seed=8)]
    assert a == b and sorted(a) == sorted(IDS)
    assert a != IDS or c != IDS  # 5! orders: two seeds both giving the identity would be a broken shuffle
    assert [t.id for t in load_tasks(gretel_jsonl, shuffle=True, seed=7, limit=2)] == a[:2]
    assert [t.id for t in load_tasks(gretel_jsonl, limit=2)] == IDS[:2]
    assert load_tasks(gretel_jsonl, limit=0) == []
    assert len(load_tasks(gretel_jsonl, limit=100)) == len(IDS)


def test_load_rows_matches_load_tasks_selection(gretel_jsonl):
    rows = load_rows(gretel_jsonl, shuffle=True, seed=3, limit=3)
    tasks = load_tasks(gretel_jsonl, shuffle=True, seed=3, limit=3)
    assert [str(r["id"]) for r in rows] == [t.id for t in tasks]
    assert rows == [dict(t.row) for t in tasks]


def test_ids_fall_back_to_the_source_row_index(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "id"} for r in GRETEL_ROWS]
    path = write_jsonl(tmp_path / "noid.jsonl", rows)
    assert [t.id for t in load_tasks(path, shuffle=True, seed=1, limit=2)] == [
        str(i) for i in select_indices(len(rows), shuffle=True, seed=1, limit=2)
    ]


def test_negative_limit_is_refused(gretel_jsonl):
    with pytest.raises(DatasetError, match="limit"):
        load_tasks(gretel_jsonl, limit=-1)


def test_folder_of_files_prefers_files_named_for_the_split(tmp_path):
    write_jsonl(tmp_path / "data" / "train.jsonl", GRETEL_ROWS[:3])
    _write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", GRETEL_ROWS[3:])
    assert [t.id for t in load_tasks(tmp_path / "data")] == IDS[:3]
    assert [t.id for t in load_tasks(tmp_path / "data", split="test")] == IDS[3:]
    # no file named for the split: every data file, in name order
    assert [t.id for t in load_tasks(tmp_path / "data", split="validation")] == IDS[3:] + IDS[:3]


def test_save_to_disk_folder_and_dataset_dict(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list(GRETEL_ROWS)
    ds.save_to_disk(str(tmp_path / "single"))
    datasets.DatasetDict({"train": ds, "test": ds.select([4])}).save_to_disk(str(tmp_path / "dict"))

    single = load_tasks(tmp_path / "single", shuffle=True, seed=5, limit=3)
    from_jsonl = load_tasks(write_jsonl(tmp_path / "g.jsonl", GRETEL_ROWS), shuffle=True, seed=5, limit=3)
    assert [(t.id, t.gold_sql) for t in single] == [(t.id, t.gold_sql) for t in from_jsonl]
    assert [t.id for t in load_tasks(tmp_path / "dict", split="test")] == ["5"]
    with pytest.raises(DatasetError, match="no split 'validation'.*train, test"):
        load_tasks(tmp_path / "dict", split="validation")


def test_hub_loader_path_selects_like_local_files(tmp_path):
    # The Hub code path (datasets.load_dataset) on a local data folder: offline-safe, and the
    # selection over a datasets.Dataset must equal the one over plain rows.
    from sqlbench.data import loader

    write_jsonl(tmp_path / "repo" / "train.jsonl", GRETEL_ROWS)
    src = loader._open_hub(str(tmp_path / "repo"), "train", None)
    picked = src.take(select_indices(len(src), shuffle=True, seed=9, limit=4))
    assert [r["id"] for r in picked] == [r["id"] for r in load_rows(tmp_path / "repo", shuffle=True, seed=9, limit=4)]


def test_run_directory_reads_its_distilled_dataset(distilled_run_dir):
    tasks = load_tasks(distilled_run_dir)
    assert [t.id for t in tasks] == IDS
    t = tasks[0]
    assert t.gold_sql == GRETEL_ROWS[0]["sql"] and t.context == GRETEL_ROWS[0]["sql_context"]
    assert t.metadata["reasoning"].startswith("The question asks")
    assert t.metadata["valid"] is True and t.metadata["teacher_model"] == "loopback-teacher"
    assert t.metadata["domain"] == "retail"
    assert "completion" in t.row and "messages" in t.row


def test_run_directory_without_dataset_says_so(tmp_path):
    from sqlbench.runs import RunDir

    run = RunDir.create(tmp_path / "r", "distill", {}, argv=["x"])
    with pytest.raises(DatasetError, match="no dataset.jsonl"):
        load_tasks(run.path)


def test_torn_last_line_is_skipped_but_a_bad_middle_line_is_an_error(tmp_path, gretel_jsonl):
    text = gretel_jsonl.read_text()
    torn = tmp_path / "torn.jsonl"
    torn.write_text(text + '{"id": 6, "sql_pro')
    assert [t.id for t in load_tasks(torn)] == IDS
    bad = tmp_path / "bad.jsonl"
    lines = text.splitlines()
    bad.write_text("\n".join(lines[:2] + ["{not json"] + lines[2:]) + "\n")
    with pytest.raises(DatasetError, match=r"bad.jsonl:3: not a JSON line"):
        load_tasks(bad)


def test_distilled_format_from_any_columns_rebuilds_from_messages():
    row = distilled_rows()[0]
    for k in ("sql_prompt", "sql_context", "sql_explanation", "domain"):
        row.pop(k)
    task = task_from_row(row, "distilled")
    assert task.question == GRETEL_ROWS[0]["sql_prompt"]
    assert task.context == GRETEL_ROWS[0]["sql_context"]
    assert task.gold_sql == GRETEL_ROWS[0]["sql"]
    assert task.metadata["reasoning"] == row["reasoning"]


# ---- errors ---------------------------------------------------------------------------


def test_missing_columns_lists_needed_and_found(tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"prompt_text": "q", "answer": "SELECT 1"}])
    with pytest.raises(DatasetError) as err:
        load_tasks(path)
    msg = str(err.value)
    assert "\n" not in msg
    for needed in ("sql_prompt", "sql_context", "db_id", "query", "reward_model.ground_truth.sql", "tables.json"):
        assert needed in msg
    assert "found: prompt_text, answer" in msg


def test_forced_format_names_the_missing_columns(gretel_jsonl):
    with pytest.raises(DatasetError, match=r"not in spider format: missing db_id, question, query.*found: id, domain"):
        load_tasks(gretel_jsonl, fmt="spider")
    with pytest.raises(DatasetError, match="unknown dataset format 'wikisql'.*gretel, spider, synsql, distilled"):
        load_tasks(gretel_jsonl, fmt="wikisql")


def test_spider_rows_without_tables_json_say_where_to_put_it(tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps([{"db_id": "x", "question": "q", "query": "SELECT 1"}]))
    with pytest.raises(DatasetError, match="tables.json"):
        load_tasks(path)


@pytest.mark.parametrize(
    "content, match",
    [
        (None, "no such file or folder"),
        ("", "holds no rows"),
        ("[1, 2]", "list of objects"),
        ('{"a": 1}', "expected a list of rows"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, content, match):
    path = tmp_path / "data.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DatasetError, match=match) as err:
        load_tasks(path)
    assert "\n" not in str(err.value)


def test_corrupt_parquet_and_empty_folder(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DatasetError, match="as Parquet"):
        load_tasks(tmp_path / "x.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no dataset"):
        load_tasks(tmp_path / "empty")


def test_unreachable_hub_id_is_a_dataset_error_without_the_token(tmp_path):
    # Offline mode makes the failure immediate; online-but-unreachable takes the same path after retries.
    code = (
        "from sqlbench.data.loader import load_tasks\n"
        "from sqlbench.redact import register_secret\n"
        "register_secret('hf_SECRETtoken1234')\n"
        "try:\n"
        "    load_tasks('sqlbench-test/no-such-dataset', token='hf_SECRETtoken1234')\n"
        "except Exception as e:\n"
        "    print(type(e).__name__ + '|' + str(e))\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    kind, _, msg = out.stdout.strip().partition("|")
    assert kind == "DatasetError", out.stdout + out.stderr
    assert "sqlbench-test/no-such-dataset" in msg and "local path" in msg
    assert "hf_SECRETtoken1234" not in out.stdout + out.stderr


def test_local_looking_path_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_tasks("./nowhere/tasks.jsonl")


# ---- bundled dataset -------------------------------------------------------------------


def test_bundled_dataset_is_the_default_from_any_cwd(tmp_path, monkeypatch):
    assert DEFAULT_DATASET.is_file(), f"the bundled dataset {DEFAULT_DATASET} ships with the package"
    monkeypatch.chdir(tmp_path)
    tasks = load_tasks()
    assert len(tasks) >= 300
    assert all(t.question and t.context and t.gold_sql for t in tasks)
    assert len({t.id for t in tasks}) == len(tasks)
    assert len({t.metadata.get("domain") for t in tasks}) >= 8
    assert [t.id for t in load_tasks(limit=3)] == [t.id for t in tasks[:3]]


def test_loading_the_bundled_or_jsonl_set_imports_no_heavy_library(gretel_jsonl):
    code = (
        "import sys\n"
        "from sqlbench.data.loader import load_tasks, DEFAULT_DATASET\n"
        f"load_tasks({str(gretel_jsonl)!r})\n"
        "if DEFAULT_DATASET.is_file(): load_tasks()\n"
        "print(sorted(m for m in ('datasets', 'torch', 'transformers', 'pyarrow', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr
