"""Process settings, read once at start-up from ``EMOPIPE_*`` environment variables.

Library code never reads the environment: the CLI builds one :class:`Settings`
and passes it (or the parts that matter) down.  Precedence: explicit argument >
environment > default.

Examples
--------
>>> s = Settings(kafka_bootstrap="127.0.0.1:19092")
>>> s.topic("dlq")
'emopipe.dlq'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.contract import MODALITIES as CONTRACT_MODALITIES

REPO_ROOT = Path(__file__).resolve().parent.parent

#: the sensor-chunk contract owns the list of modalities
MODALITIES = CONTRACT_MODALITIES


class Settings(BaseSettings):
    """All knobs of an emopipe process. Frozen; env prefix ``EMOPIPE_``."""

    # hide_input_in_errors: a bad value never echoes a secret (or a URL holding one) into an error message
    model_config = SettingsConfigDict(env_prefix="EMOPIPE_", frozen=True, extra="ignore", hide_input_in_errors=True)

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,..]")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL for emotion events")
    redis_username: str | None = Field(None, description="Redis ACL user (None: the default user)")
    redis_password: SecretStr | None = Field(None, description="password of the Redis ACL user")
    redis_tls: bool = Field(False, description="connect to Redis over TLS (also implied by a rediss:// URL)")
    redis_ssl_cafile: Path | None = Field(None, description="CA bundle (PEM) that signed the Redis certificate")
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="PLAINTEXT, or SASL_SSL (SCRAM over TLS, needs the username and password)"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = Field(None, description="Kafka SASL user (e.g. a Strimzi KafkaUser)")
    kafka_sasl_password: SecretStr | None = Field(None, description="password of the Kafka SASL user")
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle (PEM) that signed the broker certificate")
    kafka_ssl_check_hostname: bool = Field(True, description="check the broker certificate's host name / IP")
    topic_prefix: str = Field("emopipe", description="prefix of every topic name")
    partitions: int = Field(4, ge=1, description="partitions of the raw, window and event topics")
    replication_factor: int = Field(1, ge=1)
    app_id: str = Field("emopipe", description="Faust application id (consumer group)")
    store: str = Field("rocksdb://", description="Faust table store: rocksdb:// or memory://")
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    state_write_buffer_mb: int = Field(
        4, ge=1, le=256,
        description="RocksDB memtable size per table partition, within state_memory_mb (Faust's default is 64 MB: "
        "a worker's memory then grows with the state it writes until each memtable is full)",
    )  # fmt: skip
    state_memory_mb: int = Field(
        64, ge=8, le=65536,
        description="all RocksDB memory of one worker: one LRU cache shared by every table partition, holding "
        "data, index and filter blocks, and charged for the memtables (Faust's default is a 2 GB cache per partition)",
    )  # fmt: skip
    worker_compression: Literal["lz4", "zstd", "gzip", "none"] = Field(
        "gzip",
        description="compression of every batch a worker writes to Kafka (windows, events, previews, changelogs); "
        "gzip needs nothing extra and packs the small real-time batches best; lz4/zstd need pip install cramjam "
        "(the worker) and lz4/zstandard (kafka-python readers)",
    )
    web_port: int = Field(6066, description="Faust worker web port; 0 disables the web server")
    web_host: str = Field("127.0.0.1", description="address the worker web server binds (0.0.0.0 in a container)")
    data_dir: Path = Field(
        REPO_ROOT.parent / "shared" / "data",
        description="folder that HOLDS the data sets: stress-predict/, ravdess/, systole-ecg/, openface/ "
        "(the parent of stress-predict/, not stress-predict/ itself); default ../shared/data",
    )
    state_dir: Path = Field(REPO_ROOT / ".run" / "faust", description="Faust table data directory")
    heads: str = Field(
        "stress_binary,stress_ecg,stress_resp,ravdess_emotion,emfacs_video,eeg_synthetic",
        description="comma-separated model cards (in model_dir) the classify stage runs as heads; a user-trained "
        "video_learned card replaces emfacs_video",
    )
    mains_hz: Literal[50, 60] = Field(50, description="mains frequency notched out of ECG/EEG (50 or 60 Hz)")
    grace_s: float = Field(10.0, ge=0, description="event time a head slot waits for a missing modality")
    stale_s: float = Field(300.0, gt=0, description="event time after which a silent modality stops holding a head")
    fusion_grace_s: float = Field(10.0, ge=0, description="event time a fused event waits for a head that lags")
    error_policy: Literal["dead_letter", "raise"] = Field(
        "dead_letter", description="what a stage does with a message it cannot process: dead-letter it, or raise"
    )
    model_dir: Path = Field(REPO_ROOT / "models" / "artifacts", description="directory of model cards + artifacts")
    max_chunk_samples: int = Field(100_000, ge=1, description="largest accepted chunk (samples x channels)")
    reorder_max_chunks: int = Field(
        8, ge=0, le=1024,
        description="chunks held per stream while a missing seq is awaited (0: no reordering); see pipeline/reorder.py",
    )  # fmt: skip
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def head_names(self) -> tuple[str, ...]:
        """The heads to run, in order."""
        return tuple(h.strip() for h in self.heads.split(",") if h.strip())

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        if self.kafka_security_protocol == "SASL_SSL" and not (self.kafka_sasl_username and self.kafka_sasl_password):
            msg = (
                "EMOPIPE_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs EMOPIPE_KAFKA_SASL_USERNAME and "
                "EMOPIPE_KAFKA_SASL_PASSWORD"
            )
            raise ValueError(msg)
        if "@" in self.redis_url.split("//", 1)[-1].split("/", 1)[0]:
            msg = "put the Redis user and password in EMOPIPE_REDIS_USERNAME / EMOPIPE_REDIS_PASSWORD, not in the URL"
            raise ValueError(msg)
        return self

    def topic(self, name: str) -> str:
        """Full topic name for a short name (``raw.eda``, ``dlq``, ``events``)."""
        return f"{self.topic_prefix}.{name}"

    def raw_topic(self, modality: str) -> str:
        """Raw sensor topic of one modality, keyed by subject."""
        return self.topic(f"raw.{modality}")
