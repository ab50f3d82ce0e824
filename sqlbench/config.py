"""Settings: config.yaml + environment + command-line flags, and secrets from .env.

Precedence, highest first: command-line flag > environment (``SQLBENCH_KEY``,
``SQLBENCH_SECTION__KEY``) > config.yaml > built-in default. Every error names the key
and where it came from, in one line.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from sqlbench.configfile import ENV_PREFIX, NOT_SETTINGS, find_config
from sqlbench.errors import ConfigError
from sqlbench.redact import register_secret


# Non-finite numbers (.inf, .nan) are refused everywhere: no timeout, rate or weight means "forever".
class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


MAX_BATCH_SIZE = 4096  # requests in flight: past this a run only builds clients and sockets


class DistillSettings(_Section):
    provider: str = "Transformers"
    model: Optional[str] = None  # None: the tiny offline student (see `sqlbench tiny-model`)
    dataset_repo_id: Optional[str] = None  # None: the bundled dataset
    split: str = "train"
    format: Optional[str] = None  # gretel | spider | synsql | distilled | sqlbench; None: detected
    limit: Optional[int] = Field(100, ge=1)
    batch_size: int = Field(64, ge=1, le=MAX_BATCH_SIZE)
    retries: int = Field(3, ge=0)
    num_samples: int = Field(1, ge=1)
    max_tokens: int = Field(512, ge=1)
    request_timeout: float = Field(60.0, gt=0)
    retry_backoff: float = Field(0.5, ge=0)  # first retry delay (s), doubled each try, jittered
    base_url: Optional[str] = None  # overrides the top-level base_url; Groq/HuggingFace: their own endpoint
    validate_answers: bool = Field(True, alias="validate")
    remove_no_valid: bool = False
    publish: bool = False
    publish_repo_id: Optional[str] = None
    private_repo: bool = False
    use_ray: bool = False
    hint_gold: bool = False  # leaks the gold SQL into the prompt; the dataset card says so
    seed: int = 42
    db_dir: Optional[str] = None  # Spider/BIRD database files: DB_DIR/<db_id>/<db_id>.sqlite
    gguf_file: Optional[str] = None  # which GGUF file, when `model` is a folder or Hub repo holding several

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True, allow_inf_nan=False)


class ValidateSettings(_Section):
    timeout: float = Field(2.0, gt=0)
    max_rows: int = Field(10_000, ge=1)
    workers: Optional[int] = Field(None, ge=1)
    max_memory_mb: int = Field(1024, ge=256)  # memory cap for model-written SQL (SQLite heap, DuckDB workers)
    db_dir: Optional[str] = None  # `sqlbench validate`'s database files (DB_DIR/<db_id>/<db_id>.sqlite)
    max_copy_mb: float = Field(64.0, gt=0)  # largest database file copied into memory for a DML/DDL gold
    test_databases: int = Field(3, ge=0, le=16)  # generated databases for schema-only contexts (0: none)
    test_databases_with_rows: bool = False  # --test-databases: also for contexts that carry rows


class TrainSettings(_Section):
    model: Optional[str] = None  # None: the tiny offline student
    dataset_repo_id: Optional[str] = None
    split: str = "train"
    limit: Optional[int] = Field(None, ge=1)
    stage: Literal["auto", "sft", "grpo", "both"] = "auto"
    max_steps: int = Field(30, ge=-1)
    epochs: float = Field(1.0, gt=0)
    learning_rate: float = Field(5e-5, gt=0)
    sft_learning_rate: float = Field(2e-4, gt=0)
    # SFT usually wants more, cheaper steps than GRPO; None: both stages take max_steps.
    sft_max_steps: Optional[int] = Field(None, ge=-1)
    per_device_train_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    num_generations: int = Field(4, ge=2)
    max_completion_length: int = Field(256, ge=8)
    beta: float = Field(0.04, ge=0)
    loss_type: str = "grpo"
    reward_weights: dict[str, float] = Field(default_factory=dict)
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    full: bool = False
    eval_split: float = Field(0.1, ge=0)
    eval_steps: int = Field(10, ge=1)
    save_steps: int = Field(10, ge=1)
    logging_steps: int = Field(1, ge=1)
    merge: bool = False
    publish_repo_id: Optional[str] = None
    private_repo: bool = False
    seed: int = 42
    # Scale-out (README, "Scale-out"): data-parallel processes under torchrun, or accelerate
    # launch with a config file (DeepSpeed ZeRO-2/3, FSDP); GRPO generation colocated or on a
    # `trl vllm-serve` server.
    num_processes: int = Field(1, ge=1)
    accelerate_config: Optional[str] = None
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_server_url: Optional[str] = None
    db_dir: Optional[str] = None
    gguf_file: Optional[str] = None  # which GGUF file, when `model` is a folder or Hub repo holding several


class EvalSettings(_Section):
    model: Optional[str] = None
    dataset_repo_id: Optional[str] = None
    split: str = "train"
    limit: Optional[int] = Field(100, ge=1)
    max_new_tokens: int = Field(256, ge=1)
    batch_size: int = Field(8, ge=1)
    db_dir: Optional[str] = None
    match: Literal["sqlbench", "spider", "bird"] = "sqlbench"  # the EX rule the printed table shows
    gguf_file: Optional[str] = None  # which GGUF file, when `model` is a folder or Hub repo holding several


class ChatSettings(_Section):
    model: Optional[str] = None
    max_new_tokens: int = Field(512, ge=1)
    db: Optional[str] = None
    gguf_file: Optional[str] = None  # which GGUF file, when `model` is a folder or Hub repo holding several


class ServeSettings(_Section):
    model: Optional[str] = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_new_tokens: int = Field(512, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)  # larger request bodies get 413, unread
    max_queue: int = Field(64, ge=1)  # requests waiting for the model; beyond it 503 + Retry-After
    header_timeout: float = Field(10.0, gt=0, le=3600)  # s to send a request's head
    body_timeout: float = Field(30.0, gt=0, le=3600)  # s to send its body
    gguf_file: Optional[str] = None  # which GGUF file, when `model` is a folder or Hub repo holding several


class Settings(_Section):
    base_url: str = "http://127.0.0.1:8000/v1"
    max_seq_length: int = Field(1024, ge=16)
    max_prompt_length: int = Field(512, ge=8)
    temperature: float = Field(0.7, ge=0)
    tensor_parallel_size: int = Field(1, ge=1)
    runs_dir: str = "runs"
    cache_dir: str = ".cache/sqlbench"
    ray_address: Optional[str] = None
    system_prompt: Optional[str] = None
    # workbench key remapping: action id -> keys (the workbench names an unknown id)
    keys: dict[str, str] = Field(default_factory=dict)
    # torch device of eval, chat, serve and the Transformers teacher: auto (CUDA when present)
    device: str = "auto"
    # GPUs each Ray actor asks for; None: 1 when the provider runs a model on a GPU, else 0
    ray_num_gpus: Optional[float] = Field(None, ge=0)
    distill: DistillSettings = Field(default_factory=DistillSettings)
    validate_: ValidateSettings = Field(default_factory=ValidateSettings, alias="validate")
    train: TrainSettings = Field(default_factory=TrainSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True, allow_inf_nan=False)

    @field_validator("device")
    @classmethod
    def _device_name(cls, v: str) -> str:
        from sqlbench.devices import check_spec

        try:
            return check_spec(v)
        except ConfigError as e:
            raise ValueError(str(e).replace("--device ", "")) from None

    def public_dict(self) -> dict[str, Any]:
        """As written to a run's config.yaml (no secrets live in Settings at all)."""
        return self.model_dump(mode="json", by_alias=True)


class Secrets(BaseModel):
    """Read from the environment and .env only; never from config.yaml, never written."""

    api_key: Optional[SecretStr] = None
    hf_token: Optional[SecretStr] = None
    groq_api_key: Optional[SecretStr] = None
    serve_api_key: Optional[SecretStr] = None  # the key `sqlbench serve` requires of its clients

    def get(self, name: str) -> str | None:
        v = getattr(self, name)
        return v.get_secret_value() if v is not None else None


SECRET_ENV = {"api_key": "API_KEY", "hf_token": "HF_TOKEN", "groq_api_key": "GROQ_API_KEY",
              "serve_api_key": "SERVE_API_KEY"}


# ---- loading ----------------------------------------------------------------------
def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """Map every accepted spelling (alias or name) of a model's fields to the name."""
    out = {}
    for name, f in model.model_fields.items():
        out[f.alias or name] = name
        out[name] = name
    return out


def _section_model(key: str) -> type[BaseModel] | None:
    name = _field_names(Settings).get(key)
    if name is None:
        return None
    ann = Settings.model_fields[name].annotation
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _check_unknown(raw: dict[str, Any], source: str) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of keys to values at the top level")
    for key, value in raw.items():
        _known(Settings, str(key), source, prefix="")
        section = _section_model(str(key))
        if section is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{key}' must be a section (a mapping of keys), got {value!r}")
            for sub in value:
                _known(section, str(sub), source, prefix=f"{key}.")


def _known(model: type[BaseModel], key: str, source: str, prefix: str) -> None:
    names = _field_names(model)
    if key in names:
        return
    visible = sorted({f.alias or n for n, f in model.model_fields.items()})
    close = difflib.get_close_matches(key, visible, n=1, cutoff=0.5)
    hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f" (valid keys: {', '.join(visible)})"
    raise ConfigError(f"{source}: unknown key '{prefix}{key}'{hint}")


_TYPE_WORDS = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "literal_error": None,
}


def _describe(err: dict[str, Any]) -> str:
    word = _TYPE_WORDS.get(err["type"], "")
    if word:
        return f"must be {word}"
    return err["msg"].lower().replace("input should be", "must be")


def _format_validation(e: ValidationError, sources: dict[str, str], default_source: str) -> ConfigError:
    err = e.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    source = sources.get(key, default_source)
    got = err.get("input")
    return ConfigError(f"{source}: '{key}' {_describe(err)} (got {got!r})")


def _env_layer(environ: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX) or var in NOT_SETTINGS:
            continue
        path = var[len(ENV_PREFIX):].lower().split("__")
        parsed = yaml.safe_load(value) if value.strip() else None
        src = f"environment variable {var}"
        if len(path) == 1:
            _known(Settings, path[0], src, prefix="")
            raw[path[0]] = parsed
        elif len(path) == 2:
            _known(Settings, path[0], src, prefix="")
            section = _section_model(path[0])
            if section is None:
                raise ConfigError(f"{src}: '{path[0]}' is not a section")
            _known(section, path[1], src, prefix=f"{path[0]}.")
            raw.setdefault(path[0], {})[path[1]] = parsed
        else:
            raise ConfigError(f"{src}: use SQLBENCH_KEY or SQLBENCH_SECTION__KEY")
        sources[".".join(path)] = src
    return raw, sources


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load_settings(
    path: str | os.PathLike | None = None, environ: dict[str, str] | None = None
) -> Settings:
    cfg_path = find_config(path)
    raw: dict[str, Any] = {}
    if cfg_path:
        raw = _read_yaml(cfg_path)
        _check_unknown(raw, str(cfg_path))
    return _validate(raw, str(cfg_path) if cfg_path else "built-in defaults", environ)


def load_run_settings(run_dir: str | os.PathLike, environ: dict[str, str] | None = None,
                      dropped: list[str] | None = None) -> Settings:
    """The settings a run was started with (its config.yaml, written without secrets):
    what resuming it must use, whatever the project's config.yaml says today. The
    environment and flags given now still apply on top. Keys this version does not
    know (a run written by another version; distill's recorded ``run`` options) are
    left out and named in ``dropped``."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no config.yaml to resume the run with")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    kept: dict[str, Any] = {}
    lost: list[str] = []
    for key, value in raw.items():
        if str(key) not in _field_names(Settings):
            lost.append(str(key))
            continue
        section = _section_model(str(key))
        if section is not None and isinstance(value, dict):
            names = _field_names(section)
            lost += [f"{key}.{k}" for k in value if str(k) not in names]
            value = {k: v for k, v in value.items() if str(k) in names}
        kept[key] = value
    if dropped is not None:
        dropped.extend(k for k in lost if k != "run")
    return _validate(kept, str(path), environ)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(e, 'problem', e)})") from None


def _validate(raw: dict[str, Any], file_source: str, environ: dict[str, str] | None) -> Settings:
    env_raw, sources = _env_layer(dict(os.environ if environ is None else environ))
    try:
        return Settings.model_validate(_merge(raw, env_raw))
    except ValidationError as e:
        raise _format_validation(e, sources, file_source) from None


def apply_flags(settings: Settings, section: str, flags: dict[str, Any]) -> Settings:
    """Overlay command-line flags (``None`` = not given) on one section, or on the top
    level when ``section`` is empty; errors name the flag."""
    flags = {k: v for k, v in flags.items() if v is not None}
    if not flags:
        return settings
    data = settings.model_dump(by_alias=True)
    target = data[section] if section else data
    for k, v in flags.items():
        target[k] = v
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        flag = "--" + str(err["loc"][-1]).replace("_", "-")
        raise ConfigError(f"command line: {flag} {_describe(err)} (got {err.get('input')!r})") from None


def load_secrets(env_file: str | os.PathLike | None = ".env", environ: dict[str, str] | None = None) -> Secrets:
    """Secrets from the environment, then .env (the environment wins); each value is
    registered for redaction before anything can log it."""
    environ = dict(os.environ if environ is None else environ)
    file_values: dict[str, str | None] = {}
    if env_file and Path(env_file).is_file():
        from dotenv import dotenv_values

        try:
            file_values = dict(dotenv_values(env_file, encoding="utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"{env_file}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
        except OSError as e:
            raise ConfigError(f"{env_file}: cannot read it ({e.strerror or e})") from None
    values = {}
    for field, var in SECRET_ENV.items():
        v = environ.get(var) or file_values.get(var)
        if v:
            register_secret(v)
            values[field] = v
    return Secrets(**values)
