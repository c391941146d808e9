"""Settings: one object, read once at the edge (env prefix ``PODIUM_``), passed down.

With nothing set, everything is embedded under ``PODIUM_HOME`` (default ``./.podium``):
SQLite metadata, a local artifact folder. Production backends are chosen by URL::

    PODIUM_DATABASE_URL=postgresql+psycopg://user@db/podium
    PODIUM_STORAGE_URL=s3://bucket/prefix
    PODIUM_EVENTS_URL=redis://cache:6379/0        # or nats://bus:4222
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Every setting podium reads; ``podium config`` prints them with secrets redacted."""

    model_config = SettingsConfigDict(env_prefix="PODIUM_", extra="ignore")

    home: Path = Field(default=Path(".podium"), description="where embedded state lives")
    database_url: str | None = Field(
        default=None, description="metadata DB; default sqlite under home"
    )
    storage_url: str | None = Field(
        default=None, description="artifacts and lake files; default a folder under home"
    )
    online_store_url: str | None = Field(
        default=None, description="online feature store; default sqlite under home, or redis://"
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, moto)"
    )
    project: str = Field(default="default", description="project used when none is given")
    url: str | None = Field(default=None, description="a podium server; unset means embedded")
    api_key: SecretStr | None = Field(default=None, description="key for the server at url")
    webhooks_allow_http: bool = Field(
        default=False,
        description="accept plain http:// webhook URLs without allow_http on each; "
        "unset means https:// only",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="CA file trusted for an https:// url instead of the usual roots and "
        "the home's own CA (PODIUM_HOME/tls/ca.pem, made by `podium up --tls auto`)",
    )
    host: str = Field(default="127.0.0.1", description="address `podium up` listens on")
    port: int = Field(default=8000, description="port `podium up` listens on")
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, description="largest request body (routes not named below)"
    )
    max_prediction_body_bytes: int = Field(
        default=1024 * 1024, description="largest body of a prediction (/v1/predictions, /v2 infer)"
    )
    max_upload_body_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024,
        description="largest upload (table rows, model versions, artifacts, frames)",
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, description="time a request may take before its answer starts (504)"
    )
    upload_timeout_seconds: float = Field(
        default=600.0, gt=0, description="the same for uploads and long operations"
    )
    rate_limit_url: str | None = Field(
        default=None,
        description="redis:// where rate limits and quotas are counted, shared by replicas; "
        "unset: PODIUM_EVENTS_URL when it is redis://, else each process counts its own",
    )
    allowed_hosts: str | None = Field(
        default=None,
        description="comma-separated Host names the server answers (.domain for a domain, "
        "* for any); unset means the loopback names, plus the bind address off loopback, "
        "or any host when bound to 0.0.0.0",
    )
    metric_flush_interval: float = Field(
        default=0.5, description="seconds between background metric flushes"
    )
    scheduler: Literal["on", "off"] = Field(
        default="on", description="whether `podium up` starts pipeline schedules and triggers"
    )
    events_url: str | None = Field(
        default=None,
        description="event bus (redis:// for Redis Streams, nats:// for NATS JetStream); "
        "unset means embedded in the metadata database",
    )
    ray_address: str | None = Field(
        default=None,
        description="Ray cluster for runner='ray' (ray://host:10001 or host:6379); "
        "unset starts a local Ray on 127.0.0.1 when asked for",
    )
    encryption: Literal["on", "off"] = Field(
        default="on",
        description="encrypt artifacts and stored secrets at rest (AES-256-GCM, ADR 0035)",
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="the encryption key (base64 or hex of 32 bytes); unset means the key "
        "in home/keys/encryption.key, made on first use",
    )
    encryption_old_keys: SecretStr | None = Field(
        default=None,
        description="comma-separated keys still readable while a rotation re-encrypts",
    )
    tokenization_key: SecretStr | None = Field(
        default=None,
        description="the key pii columns are tokenized with (base64 or hex of 32 bytes); "
        "unset means home/keys/tokenization.key, made on first use (ADR 0045)",
    )
    inference_journal: Literal["on", "off"] = Field(
        default="on",
        description="journal each logged prediction to home/journal before answering, so a "
        "killed server loses none (ADR 0046)",
    )
    s3_sse: str | None = Field(
        default=None,
        description="S3 server-side encryption for artifacts and lake files: AES256 or aws:kms",
    )
    s3_sse_kms_key_id: str | None = Field(
        default=None, description="the KMS key for PODIUM_S3_SSE=aws:kms (default: the AWS key)"
    )

    def inference_journal_root(self, project: str) -> Path | None:
        """Where ``project``'s inference-log journals live (``None`` when switched off)."""
        if self.inference_journal == "off":
            return None
        return (self.home / "journal" / "inference" / project).resolve()

    @property
    def resolved_database_url(self) -> str:
        """The metadata DB URL, defaulting to SQLite under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'podium.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        """The artifact store URL, defaulting to a folder under ``home``."""
        if self.storage_url:
            return self.storage_url
        return (self.home / "artifacts").resolve().as_uri()

    @property
    def resolved_rate_limit_url(self) -> str | None:
        """Where rate limits are counted: PODIUM_RATE_LIMIT_URL, else a Redis event bus."""
        if self.rate_limit_url:
            return self.rate_limit_url
        events = self.events_url or ""
        return events if events.startswith(("redis://", "rediss://")) else None

    @property
    def credentials_path(self) -> Path:
        """Where the server writes its first admin key, and where CLI and SDK look for it."""
        return self.home / "credentials"

    def redacted(self) -> dict[str, Any]:
        """The effective settings with secrets and URL passwords hidden."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else None
            elif isinstance(value, str) and "://" in value:
                value = _redact_url(value)
            out[name] = str(value) if isinstance(value, Path) else value
        out["database_url"] = _redact_url(self.resolved_database_url)
        out["storage_url"] = _redact_url(self.resolved_storage_url)
        return out


def _redact_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:********@{host}" if ":" in userinfo else url
