"""The bundled dataset is built from tools/sample_tasks/*.yaml by tools/build_sample_tasks.py:
the shipped tasks.jsonl is exactly what the builder writes, and the builder refuses data it
would misread or golds the Validator rejects."""

import subprocess
import sys
from pathlib import Path

from sqlbench.data.loader import DEFAULT_DATASET

ROOT = Path(__file__).resolve().parent.parent
BUILDER = ROOT / "tools" / "build_sample_tasks.py"
DATA = ROOT / "tools" / "sample_tasks"


def build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILDER), *args], capture_output=True, text=True, timeout=240)


def test_rebuilt_tasks_are_byte_identical_to_the_shipped_file(tmp_path):
    out = tmp_path / "tasks.jsonl"
    proc = build("--out", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "checks: 0 error(s)" in proc.stdout
    assert out.read_bytes() == DEFAULT_DATASET.read_bytes()


def one_domain(tmp_path: Path, edit) -> Path:
    """A data folder holding the retail file, changed by ``edit`` (text -> text)."""
    folder = tmp_path / "data"
    folder.mkdir()
    text = (DATA / "01_retail.yaml").read_text(encoding="utf-8")
    changed = edit(text)
    assert changed != text, "the edit found nothing to change"
    (folder / "01_retail.yaml").write_text(changed, encoding="utf-8")
    return folder


def test_a_value_yaml_would_convert_is_refused_with_its_line(tmp_path):
    # unquoted, 2022-01-15 would load as a date and NO as False: the SQL would change silently
    folder = one_domain(tmp_path, lambda t: t.replace("'2022-01-15'", "2022-01-15", 1))
    line = next(i for i, text in enumerate((folder / "01_retail.yaml").read_text().splitlines(), 1)
                if " 2022-01-15," in text)
    out = tmp_path / "tasks.jsonl"
    proc = build("--data", str(folder), "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: 01_retail.yaml:{line}: YAML would read 2022-01-15 as timestamp, not as written: "
        "quote it ('2022-01-15'), or write a plain number"
    ]
    assert not out.exists()


def test_golds_the_validator_rejects_are_reported_and_nothing_is_written(tmp_path):
    def edit(text: str) -> str:
        text = text.replace("SELECT product_name, category\n      FROM products",
                            "SELECT product_name, categry\n      FROM products", 1)
        # an UPDATE that leaves every row as it was: a grader could not tell it from no answer
        return text.replace("SET unit_price = ROUND(unit_price * 1.10, 2)", "SET unit_price = unit_price", 1)

    out = tmp_path / "tasks.jsonl"
    proc = build("--data", str(one_domain(tmp_path, edit)), "--out", str(out))
    assert proc.returncode == 1
    errors = [line for line in proc.stdout.splitlines() if line.startswith("ERROR")]
    assert errors == [
        "ERROR task 1 (01_retail.yaml): the gold: gold_error: the gold query fails on sqlite: no such column: categry",
        "ERROR task 1 (01_retail.yaml): the gold judged as an answer: gold_error: the gold query fails on sqlite: "
        "no such column: categry",
        "ERROR task 36 (01_retail.yaml): the validator accepts doing nothing for this change",
    ]
    assert "checks: 3 error(s)" in proc.stdout
    assert not out.exists()
