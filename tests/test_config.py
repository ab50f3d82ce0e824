"""config.yaml + environment + flags: precedence and one-line errors that name the key."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sqlbench.config import apply_flags, load_secrets, load_settings
from sqlbench.errors import ConfigError
from sqlbench.redact import redact

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text):
    p = tmp_path / "config.yaml"
    p.write_text(text)
    return p


def test_committed_config_and_template_load_and_agree():
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    tpl = yaml.safe_load((ROOT / "template.config.yaml").read_text())
    for key in ("base_url", "max_seq_length", "max_prompt_length", "temperature", "tensor_parallel_size"):
        assert key in tpl
    assert set(cfg) == set(tpl)
    for section in ("distill", "train", "chat", "serve"):
        assert set(cfg[section]) == set(tpl[section])
    s = load_settings(ROOT / "template.config.yaml", environ={})
    assert s.distill.batch_size == tpl["distill"]["batch_size"]


def test_unknown_key_names_key_file_and_closest(tmp_path):
    p = write(tmp_path, "distill:\n  batchsize: 8\n")
    with pytest.raises(ConfigError) as e:
        load_settings(p, environ={})
    msg = str(e.value)
    assert str(p) in msg and "'distill.batchsize'" in msg and "did you mean 'distill.batch_size'" in msg


def test_unknown_top_level_key(tmp_path):
    p = write(tmp_path, "temprature: 0.3\n")
    with pytest.raises(ConfigError, match=r"unknown key 'temprature' \(did you mean 'temperature'\?\)"):
        load_settings(p, environ={})


def test_wrong_type_names_key_and_expected_type(tmp_path):
    p = write(tmp_path, "distill:\n  batch_size: lots\n")
    with pytest.raises(ConfigError) as e:
        load_settings(p, environ={})
    assert "'distill.batch_size' must be an integer" in str(e.value) and str(p) in str(e.value)


def test_invalid_yaml_names_file_and_line(tmp_path):
    p = write(tmp_path, "distill:\n  batch_size: [1\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_settings(p, environ={})


def test_precedence_flag_over_env_over_file_over_default(tmp_path):
    p = write(tmp_path, "temperature: 0.2\ndistill:\n  batch_size: 8\n  retries: 5\n")
    s = load_settings(p, environ={})
    assert (s.temperature, s.distill.batch_size, s.distill.retries, s.distill.limit) == (0.2, 8, 5, 100)
    env = {"SQLBENCH_DISTILL__BATCH_SIZE": "16", "SQLBENCH_TEMPERATURE": "0.9"}
    s = load_settings(p, environ=env)
    assert (s.temperature, s.distill.batch_size, s.distill.retries) == (0.9, 16, 5)
    s = apply_flags(s, "distill", {"batch_size": 32, "retries": None})
    assert (s.distill.batch_size, s.distill.retries) == (32, 5)


def test_env_errors_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="environment variable SQLBENCH_DISTILL__BATCH_SIZE"):
        load_settings(write(tmp_path, ""), environ={"SQLBENCH_DISTILL__BATCH_SIZE": "x"})
    with pytest.raises(ConfigError, match="unknown key 'distill.bogus'"):
        load_settings(write(tmp_path, ""), environ={"SQLBENCH_DISTILL__BOGUS": "1"})


def test_flag_errors_name_the_flag():
    s = load_settings(ROOT / "config.yaml", environ={})
    with pytest.raises(ConfigError, match="--batch-size"):
        apply_flags(s, "distill", {"batch_size": 0})


def test_secrets_from_env_file_are_masked_and_env_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("API_KEY=sk-from-file-123456\nHF_TOKEN=hf_file_token_abcdef\n")
    sec = load_secrets(env_file, environ={"HF_TOKEN": "hf_env_token_zyxwvu"})
    assert sec.get("api_key") == "sk-from-file-123456"
    assert sec.get("hf_token") == "hf_env_token_zyxwvu"
    assert "sk-from-file" not in repr(sec) and "sk-from-file" not in str(sec.model_dump())
    assert redact("Authorization: Bearer sk-from-file-123456") == "Authorization: Bearer ***"


def test_cli_reports_config_error_in_one_line_exit_2(tmp_path):
    write(tmp_path, "distill:\n  batchsize: 8\n")
    r = subprocess.run([sys.executable, "-m", "sqlbench", "runs"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown key 'distill.batchsize'" in lines[0] and "config.yaml" in lines[0]
    assert "Traceback" not in r.stderr


def test_run_settings_are_what_the_run_recorded(tmp_path):
    """A run's config.yaml (with the resolved options distill adds under ``run``) loads
    back as Settings; the project's config.yaml plays no part; a run without one says so."""
    from sqlbench.config import Settings, load_run_settings
    from sqlbench.runs import RunDir

    s = apply_flags(Settings(), "distill", {"limit": 7, "model": "teacher-x"})
    run = RunDir.create(tmp_path / "run", "distill", {**s.public_dict(), "run": {"provider": {"name": "x"}}})
    write(tmp_path, "distill:\n  limit: 99\n")  # today's project config
    back = load_run_settings(run.path, environ={})
    assert back.distill.limit == 7 and back.distill.model == "teacher-x"
    assert load_run_settings(run.path, environ={"SQLBENCH_DISTILL__LIMIT": "8"}).distill.limit == 8
    (tmp_path / "bare").mkdir()
    with pytest.raises(ConfigError, match="no config.yaml to resume"):
        load_run_settings(tmp_path / "bare")
    # a run written by another version: keys unknown here are left out and named
    cfg = yaml.safe_load((run.path / "config.yaml").read_text())
    cfg["distill"]["old_knob"] = 1
    cfg["retired_section"] = {"x": 1}
    (run.path / "config.yaml").write_text(yaml.safe_dump(cfg))
    dropped: list[str] = []
    assert load_run_settings(run.path, environ={}, dropped=dropped).distill.limit == 7
    assert sorted(dropped) == ["distill.old_knob", "retired_section"]  # distill's own `run` record is expected


def test_sqlbench_variables_that_are_not_settings_are_left_alone(monkeypatch, tmp_path):
    # Test and benchmark knobs share the prefix; they must not break every command.
    from sqlbench.config import load_settings

    monkeypatch.chdir(tmp_path)
    for var in ("SQLBENCH_SHARED_DATA", "SQLBENCH_GPU_MODEL", "SQLBENCH_RANK_REPORT"):
        monkeypatch.setenv(var, str(tmp_path))
    assert load_settings().train.num_processes == 1
    monkeypatch.setenv("SQLBENCH_RANK_REPORTS", "x")  # a near miss is still a typo
    with pytest.raises(ConfigError, match="SQLBENCH_RANK_REPORTS"):
        load_settings()


def _env_without_sqlbench():
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("SQLBENCH_")} | {"PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("name", ["config.yaml", ".env"])
def test_a_non_utf8_settings_file_is_one_line_exit_2(tmp_path, name):
    (tmp_path / name).write_bytes(b"# r\xe9glages\nbase_url: http://127.0.0.1:8000/v1\n" if name == "config.yaml"
                                  else b"API_KEY=caf\xe9-key-123456\n")
    r = subprocess.run([sys.executable, "-m", "sqlbench", "runs", "--json"], cwd=tmp_path,
                       env=_env_without_sqlbench(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"sqlbench runs: error: {name}: not UTF-8 text (byte {3 if name == 'config.yaml' else 11}); save it as UTF-8"


@pytest.mark.parametrize("text", ["validate:\n  timeout: .inf\n", "validate:\n  timeout: .nan\n",
                                  "distill:\n  request_timeout: .inf\n", "temperature: -.inf\n"])
def test_non_finite_numbers_are_refused_at_validation(tmp_path, text):
    with pytest.raises(ConfigError, match="must be a finite number"):
        load_settings(write(tmp_path, text), environ={})


def test_an_infinite_validator_timeout_is_one_line_exit_2_in_the_cli(tmp_path):
    write(tmp_path, "validate:\n  timeout: .inf\n")
    r = subprocess.run([sys.executable, "-m", "sqlbench", "validate", "--help"], cwd=tmp_path,
                       env=_env_without_sqlbench(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0  # help needs no settings
    r = subprocess.run([sys.executable, "-m", "sqlbench", "runs"], cwd=tmp_path, env=_env_without_sqlbench(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == "sqlbench runs: error: config.yaml: 'validate.timeout' must be a finite number (got inf)"
    env = _env_without_sqlbench() | {"SQLBENCH_VALIDATE__TIMEOUT": ".inf"}
    (tmp_path / "config.yaml").unlink()
    r = subprocess.run([sys.executable, "-m", "sqlbench", "runs"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "environment variable SQLBENCH_VALIDATE__TIMEOUT" in r.stderr


def test_batch_size_is_capped_and_the_cap_named():
    with pytest.raises(ConfigError, match=r"--batch-size must be less than or equal to 4096 \(got 4097\)"):
        apply_flags(load_settings(None, environ={}), "distill", {"batch_size": 4097})
    assert apply_flags(load_settings(None, environ={}), "distill", {"batch_size": 4096}).distill.batch_size == 4096
