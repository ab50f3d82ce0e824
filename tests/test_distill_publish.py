"""--publish through the real huggingface_hub client against the loopback Hub."""

from __future__ import annotations

import pytest

from sqlbench.config import Secrets, Settings
from sqlbench.distill import run_distill
from sqlbench.errors import ConfigError
from sqlbench.publish import PARQUET_PATH, PublishError, push_dataset, push_files
from sqlbench.redact import register_secret
from tests.fixtures.teacher import shop_rows, write_shop_tasks

TOKEN = "hf_publishTokenZk93Lq"


def _settings(teacher, tasks, tmp_path, **distill):
    d = {"provider": "OpenAI", "model": "loopback-teacher", "dataset_repo_id": str(tasks), "limit": 6,
         "batch_size": 4, "publish": True, "publish_repo_id": "tester/sql-reasoning"}
    d.update(distill)
    return Settings.model_validate({"base_url": teacher.base_url, "runs_dir": str(tmp_path / "runs"),
                                    "temperature": 0.0, "distill": d})


@pytest.fixture
def tasks6(tmp_path, loopback_teacher):
    from sqlbench.data.loader import load_tasks

    path = write_shop_tasks(tmp_path / "tasks.jsonl", 6)
    loopback_teacher.learn(load_tasks(path))
    return path


def test_publish_uploads_the_rows_and_a_card(loopback_teacher, loopback_hub, tasks6, tmp_path):
    register_secret(TOKEN)
    loopback_teacher.inject("wrong", match=shop_rows(6)[5]["sql_prompt"])
    path = run_distill(_settings(loopback_teacher, tasks6, tmp_path, remove_no_valid=True, private_repo=True),
                       Secrets(hf_token=TOKEN), run_dir=tmp_path / "run", progress=False)
    repo = loopback_hub.repos["tester/sql-reasoning"]
    assert repo.type == "dataset" and repo.private is True
    assert set(repo.files) == {PARQUET_PATH, "README.md"}
    rows = loopback_hub.read_parquet("tester/sql-reasoning")
    assert sorted(r["id"] for r in rows) == ["t000", "t001", "t002", "t003", "t004"]  # valid only
    assert all(r["valid"] is True and r["sql_answer"] == r["sql"] for r in rows)
    assert rows[0]["messages"][-1]["role"] == "assistant"
    card = repo.files["README.md"].decode()
    for needle in ("loopback-teacher", "OpenAI", "| valid (`ok`) | 5 |", "| `mismatch` | 1 |", "## Validation rules",
                   "Think about the problem", "never the gold SQL"):
        assert needle in card, needle
    assert f"Bearer {TOKEN}" in loopback_hub.authorizations()
    for data in repo.files.values():
        assert TOKEN.encode() not in data
    fin = [e for e in __import__("sqlbench.runs", fromlist=["RunDir"]).RunDir(path).read("events")][-1]
    assert fin["published"].endswith("tester/sql-reasoning")


def test_hint_gold_is_stated_on_the_card(loopback_teacher, loopback_hub, tasks6, tmp_path):
    run_distill(_settings(loopback_teacher, tasks6, tmp_path, hint_gold=True, limit=2), Secrets(hf_token=TOKEN),
                run_dir=tmp_path / "run", progress=False)
    card = loopback_hub.file("tester/sql-reasoning", "README.md").decode()
    assert "the teacher was shown the gold SQL" in card


def test_publish_needs_a_token(loopback_teacher, tasks6, tmp_path):
    with pytest.raises(ConfigError, match="HF_TOKEN"):
        run_distill(_settings(loopback_teacher, tasks6, tmp_path), Secrets(), run_dir=tmp_path / "run")


def test_push_files_is_generic_for_models(loopback_hub, tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "qwen2"}')
    url = push_files("tester/tiny", {"config.json": tmp_path / "config.json", "README.md": b"# tiny"},
                     token=TOKEN)
    assert url.endswith("tester/tiny")
    assert loopback_hub.repos["tester/tiny"].type == "model"
    assert loopback_hub.file("tester/tiny", "config.json") == b'{"model_type": "qwen2"}'
    # and the standard download path reads it back
    from huggingface_hub import hf_hub_download

    local = hf_hub_download("tester/tiny", "README.md", cache_dir=str(tmp_path / "hf-cache"), token=TOKEN)
    assert open(local, "rb").read() == b"# tiny"


def test_push_dataset_from_rows(loopback_hub):
    push_dataset([{"id": "a", "x": 1}, {"id": "b", "x": 2}], "tester/rows", token=TOKEN, card="# rows")
    assert loopback_hub.read_parquet("tester/rows") == [{"id": "a", "x": 1}, {"id": "b", "x": 2}]


def test_hub_refusal_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(PublishError) as info:
        push_files("tester/x", {"a.txt": b"a"}, token=TOKEN)
    assert "\n" not in str(info.value) and "tester/x" in str(info.value)
