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

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.contract import MODALITIES as CONTRACT_MODALITIES

REPO_ROOT = Path(__file__).resolve().parent.parent

#: the sensor-chunk contract owns the list of modalities
MODALITIES = CONTRACT_MODALITIES


class Settings(BaseSettings):
    """All knobs of an emopipe process. Frozen; env prefix ``EMOPIPE_``."""

    model_config = SettingsConfigDict(env_prefix="EMOPIPE_", frozen=True, extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,..]")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL for emotion events")
    redis_password: SecretStr | None = None
    topic_prefix: str = Field("emopipe", description="prefix of every topic name")
    partitions: int = Field(4, ge=1, description="partitions of the raw, window and event topics")
    replication_factor: int = Field(1, ge=1)
    app_id: str = Field("emopipe", description="Faust application id (consumer group)")
    store: str = Field("rocksdb://", description="Faust table store: rocksdb:// or memory://")
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    web_port: int = Field(6066, description="Faust worker web port; 0 disables the web server")
    data_dir: Path = Field(
        REPO_ROOT.parent / "shared" / "data",
        description="folder that HOLDS the data sets: stress-predict/, ravdess/, systole-ecg/, openface/ "
        "(the parent of stress-predict/, not stress-predict/ itself); default ../shared/data",
    )
    state_dir: Path = Field(REPO_ROOT / ".run" / "faust", description="Faust table data directory")
    model_task: str = Field("stress_binary", description="task of the model the classify stage runs")
    model_dir: Path = Field(REPO_ROOT / "models" / "artifacts", description="directory of model cards + artifacts")
    max_chunk_samples: int = Field(100_000, ge=1, description="largest accepted chunk (samples x channels)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    def topic(self, name: str) -> str:
        """Full topic name for a short name (``raw.eda``, ``dlq``, ``events``)."""
        return f"{self.topic_prefix}.{name}"

    def raw_topic(self, modality: str) -> str:
        """Raw sensor topic of one modality, keyed by subject."""
        return self.topic(f"raw.{modality}")
