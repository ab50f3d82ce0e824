"""The resolved options of one distillation: settings + secrets -> one frozen record."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlbench.config import Secrets, Settings
from sqlbench.errors import ConfigError
from sqlbench.providers import ProviderSpec, canonical_name
from sqlbench.redact import register_secret, register_url

if TYPE_CHECKING:
    from sqlbench.inference.models import TinyStudent


@dataclass(frozen=True)
class DistillOptions:
    provider: ProviderSpec
    dataset: str | None
    split: str
    fmt: str | None
    limit: int | None
    batch_size: int
    retries: int
    retry_backoff: float
    num_samples: int
    temperature: float
    max_tokens: int
    timeout: float
    validate: bool
    remove_no_valid: bool
    publish: bool
    publish_repo_id: str | None
    private_repo: bool
    use_ray: bool
    ray_address: str | None
    hint_gold: bool
    seed: int
    system_prompt: str | None
    validator_timeout: float
    validator_max_rows: int
    validator_workers: int
    hf_token: str | None = None  # for reading a private dataset and publishing; never written
    validator_max_memory_mb: int = 1024
    db_dir: str | None = None  # the tasks' database files (DB_DIR/<db_id>/<db_id>.sqlite)
    validator_max_copy_bytes: int = 64 << 20
    validator_test_databases: int = 3
    validator_test_databases_with_rows: bool = False
    ray_num_gpus: float | None = None  # GPUs per Ray actor; None: what the provider needs

    def public(self) -> dict[str, Any]:
        """The run options as recorded in config.yaml (no secrets)."""
        d = asdict(self)
        d.pop("hf_token")
        d["provider"] = self.provider.public()
        return d


def _key_for(provider: str, secrets: Secrets) -> str | None:
    if provider == "OpenAI":
        return secrets.get("api_key")
    if provider == "Groq":
        return secrets.get("groq_api_key") or secrets.get("api_key")
    if provider in ("HuggingFace", "Transformers"):
        return secrets.get("hf_token")
    return None  # vLLM reads HF_TOKEN from the environment itself


def resolve_options(settings: Settings, secrets: Secrets, *, tiny: TinyStudent | None = None) -> DistillOptions:
    """Check the combination of options (one-line ConfigError) and resolve defaults.
    ``tiny`` builds the Transformers teacher's default, the tiny student."""
    d = settings.distill
    provider = canonical_name(d.provider)
    if d.remove_no_valid and not d.validate_answers:
        raise ConfigError("--remove-no-valid needs validation: drop --no-validate (or set distill.validate: true)")
    if d.publish and not d.publish_repo_id:
        raise ConfigError("--publish needs --publish-repo-id (e.g. your-name/sql-reasoning)")
    if d.publish and not secrets.get("hf_token"):
        raise ConfigError("--publish needs HF_TOKEN (a write token) in the environment or .env")
    base_url = d.base_url or (settings.base_url if provider == "OpenAI" else None)
    # a token in a URL's userinfo is a secret like any key: masked wherever it would show
    for url in (d.base_url, settings.base_url):
        register_url(url)
    register_secret(_key_for(provider, secrets))
    register_secret(secrets.get("hf_token"))
    spec = ProviderSpec(
        name=provider,
        model=d.model,
        base_url=base_url,
        api_key=_key_for(provider, secrets),
        timeout=d.request_timeout,
        max_batch=d.batch_size,
        cache_dir=settings.cache_dir,
        tensor_parallel_size=settings.tensor_parallel_size,
        # the vLLM teacher fits prompts like the Transformers one: its context is known only once loaded
        max_prompt_tokens=settings.max_prompt_length if provider in ("Transformers", "vLLM") else None,
        device=settings.device,
        tiny=tiny,
    )
    return DistillOptions(
        provider=spec,
        dataset=d.dataset_repo_id,
        split=d.split,
        fmt=d.format,
        limit=d.limit,
        batch_size=d.batch_size,
        retries=d.retries,
        retry_backoff=d.retry_backoff,
        num_samples=d.num_samples,
        temperature=settings.temperature,
        max_tokens=d.max_tokens,
        timeout=d.request_timeout,
        validate=d.validate_answers,
        remove_no_valid=d.remove_no_valid,
        publish=d.publish,
        publish_repo_id=d.publish_repo_id,
        private_repo=d.private_repo,
        use_ray=d.use_ray,
        ray_address=settings.ray_address,
        hint_gold=d.hint_gold,
        seed=d.seed,
        system_prompt=settings.system_prompt,
        validator_timeout=settings.validate_.timeout,
        validator_max_rows=settings.validate_.max_rows,
        validator_workers=settings.validate_.workers or os.cpu_count() or 2,
        hf_token=secrets.get("hf_token"),
        validator_max_memory_mb=settings.validate_.max_memory_mb,
        db_dir=d.db_dir,
        validator_max_copy_bytes=int(settings.validate_.max_copy_mb * (1 << 20)),
        validator_test_databases=settings.validate_.test_databases,
        validator_test_databases_with_rows=settings.validate_.test_databases_with_rows,
        ray_num_gpus=settings.ray_num_gpus,
    )
