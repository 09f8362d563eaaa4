"""Options and the send loop shared by the commands that publish chunks (replay, simulate, bridges)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterable

from agents.producer import ChunkProducer, Counters, publish
from deploy.settings import Settings
from pipeline.contract import SensorChunk

logger = logging.getLogger(__name__)


def add_producer_arguments(parser: argparse.ArgumentParser) -> None:
    """--encoding, --compression, --linger-ms, --topic-prefix."""
    g = parser.add_argument_group("Kafka producer")
    g.add_argument("--encoding", choices=("binary", "json"), default="binary",
                   help="wire encoding of the chunks: binary (msgpack + raw float32, compact) or json "
                        "(readable, ~3x larger); default binary")  # fmt: skip
    g.add_argument("--compression", choices=("gzip", "lz4", "snappy", "zstd", "none"), default="gzip",
                   help="Kafka batch compression; gzip always works, lz4/snappy/zstd need their Python "
                        "package; default gzip")  # fmt: skip
    g.add_argument("--linger-ms", type=int, default=20, help="producer batching delay in ms (default 20)")
    g.add_argument("--topic-prefix", default=None,
                   help="topic prefix (env EMOPIPE_TOPIC_PREFIX, default 'emopipe'): chunks go to "
                        "<prefix>.raw.<modality>")  # fmt: skip


def add_pacing_arguments(parser: argparse.ArgumentParser) -> None:
    """--speed / --fast."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--speed", type=float, default=1.0,
                   help="replay N times faster than real time (default 1 = real time)")  # fmt: skip
    g.add_argument("--fast", action="store_true", help="send as fast as possible, no pacing")


def settings_for(args: argparse.Namespace, settings: Settings) -> Settings:
    """Apply --topic-prefix on top of the process settings."""
    if getattr(args, "topic_prefix", None):
        return settings.model_copy(update={"topic_prefix": args.topic_prefix})
    return settings


def send_all(
    chunks: Iterable[SensorChunk], args: argparse.Namespace, settings: Settings, *, total: int | None = None
) -> Counters:
    """Publish chunks to Kafka with the command's options; progress bar on stderr; log a summary."""
    from tqdm import tqdm

    settings = settings_for(args, settings)
    speed = None if getattr(args, "fast", False) else getattr(args, "speed", 1.0)
    t0 = time.monotonic()
    with (
        ChunkProducer(
            settings.kafka_bootstrap, settings=settings, encoding=args.encoding, compression=args.compression,
            linger_ms=args.linger_ms,
        ) as producer,
        tqdm(total=total, unit="chunk", file=sys.stderr, disable=None, dynamic_ncols=True) as bar,
    ):  # fmt: skip
        sent = publish(chunks, producer, speed=speed, progress=bar)
    dt = max(time.monotonic() - t0, 1e-9)
    logger.info(
        "sent %d chunks, %d samples, %.1f MB to %s in %.1f s (%.0f samples/s)",
        sent.chunks, sent.samples, sent.bytes / 1e6, settings.raw_topic("<modality>"), dt, sent.samples / dt,
    )  # fmt: skip
    return sent
