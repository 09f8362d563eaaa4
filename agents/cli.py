"""The ``emopipe`` command line.

Each sub-command lives in its own module exposing ``HELP: str``,
``add_arguments(parser)`` and ``run(args, settings) -> int``; modules are imported
only when their command runs, so ``emopipe --help`` is instant and a command's
heavy dependencies (torch, faust) load only when needed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from deploy.settings import Settings

#: third-party loggers that are chatty at INFO (connection and group-join steps); WARNING unless --verbose.
#: Not faust.worker, whose INFO line "[^Worker]: Ready" says the worker has started.
NOISY_LOGGERS: tuple[str, ...] = ("kafka", "aiokafka", "faust", "mode")

#: command name -> (module path, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("agents.commands.demo", "run the main job: replay a real recording through Kafka, Faust and the model"),
    "worker": ("agents.commands.worker", "run a Faust worker of the emopipe app"),
    "topics": ("agents.commands.topics", "create the emopipe topics with explicit settings"),
    "replay": ("agents.commands.replay", "replay recordings (Empatica E4, eGeMAPS frames, OpenFace CSV) to Kafka"),
    "simulate": ("agents.commands.simulate", "publish SYNTHETIC multimodal streams (neurokit2 simulators)"),
    "lsl-bridge": ("agents.commands.lsl_bridge", "forward a Lab Streaming Layer stream to Kafka"),
    "brainflow-bridge": ("agents.commands.brainflow_bridge", "forward a BrainFlow board to Kafka"),
    "mark": ("agents.commands.mark", "mark a condition by hand: start/end of a named segment or a point event"),
    "export": ("agents.commands.export", "write a subject's retained raw streams and markers to Parquet or EDF+/BDF+"),
    "subscribe": ("agents.commands.subscribe", "print emotion events live and from history (Redis)"),
    "rebuild-redis": ("agents.commands.rebuild_redis", "replay the Kafka events topic into Redis, idempotently"),
    "dashboard": ("agents.commands.dashboard", "serve the live dashboard in the browser"),
    "train": ("models.commands.train", "train the emotion models on the real data sets"),
    "evaluate": ("models.commands.evaluate", "leave-one-subject-out evaluation; writes model cards"),
    "score": ("models.commands.score", "score a trained model on your labelled recordings (no retraining)"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="emopipe",
        description=(
            "emopipe: live biosignals on Kafka -> Faust agents (filters, features, PyTorch models) "
            "-> emotion events in Redis. Settings come from EMOPIPE_* environment variables "
            "(see deploy/settings.py); command-line options override them. Real data sets are looked up "
            "in EMOPIPE_DATA_DIR, the folder that holds stress-predict/, ravdess/, systole-ecg/, openface/ "
            "(default ../shared/data next to the repository)."
        ),
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR (env EMOPIPE_LOG_LEVEL)")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help=f"also show the INFO logs of the Kafka and Faust libraries ({', '.join(NOISY_LOGGERS)}); "
        "by default they log warnings and errors only",
    )
    parser.add_argument("--kafka", default=None, help="Kafka bootstrap servers (env EMOPIPE_KAFKA_BOOTSTRAP)")
    parser.add_argument("--redis", default=None, help="Redis URL (env EMOPIPE_REDIS_URL)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        mod = _load(module)
        if mod is not None:
            mod.add_arguments(p)
    return parser


def _load(module: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if args.log_level:
        overrides["log_level"] = args.log_level.upper()
    if args.kafka:
        overrides["kafka_bootstrap"] = args.kafka
    if args.redis:
        overrides["redis_url"] = args.redis
    return Settings(**overrides)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``emopipe`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        settings = _settings(args)
    except ValueError as exc:  # pydantic's ValidationError; inputs are hidden, so no secret is echoed
        print(f"emopipe: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, verbose=bool(getattr(args, "verbose", False)))
    from agents.connections import install_log_redaction

    install_log_redaction(settings)  # no password in any log line, whatever the libraries log at DEBUG
    mod = _load(args._module)
    if mod is None:
        parser.error(f"command {args.command!r} is not available in this build")
    try:
        return int(mod.run(args, settings))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        hint = _service_hint(exc, settings)
        if hint is None:
            raise
        print(f"emopipe {args.command}: {hint}", file=sys.stderr)
        return 2


def configure_logging(level: str, *, verbose: bool = False) -> None:
    """Root logging at ``level``; the :data:`NOISY_LOGGERS` at WARNING or above unless ``verbose``."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)
    floor = logging.getLevelName(level) if verbose else max(logging.WARNING, logging.getLevelName(level))
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(floor)
    # the worker's one "[^Worker]: Ready" line stays (the demo and scripts wait for it)
    logging.getLogger("faust.worker").setLevel(level)


def _service_hint(exc: Exception, settings: Settings) -> str | None:
    """A clear message for the usual 'service is not running' errors (None for anything else)."""
    from agents.connections import describe_kafka, describe_redis

    name = type(exc).__name__
    module = type(exc).__module__
    if module.startswith("redis") and name in {"AuthenticationError", "AuthenticationWrongNumberOfArgsError"}:
        return (
            f"Redis at {describe_redis(settings)} refused the credentials ({name}). "
            "Check EMOPIPE_REDIS_USERNAME / EMOPIPE_REDIS_PASSWORD."
        )
    if name == "ConnectionError" and module.startswith("redis"):
        return (
            f"cannot reach Redis at {describe_redis(settings)} ({exc}). Start it with `bash run.sh up` "
            "or point EMOPIPE_REDIS_URL / --redis at a running server."
        )
    if name in {"SaslAuthenticationFailedError", "AuthenticationFailedError", "KafkaAuthenticationError"}:
        return (
            f"Kafka at {describe_kafka(settings)} refused the credentials ({name}). "
            "Check EMOPIPE_KAFKA_SASL_USERNAME / EMOPIPE_KAFKA_SASL_PASSWORD."
        )
    if name in {"NoBrokersAvailable", "KafkaConnectionError"} or (
        name == "KafkaTimeoutError" and "bootstrap" in str(exc)
    ):
        return (
            f"cannot reach Kafka at {describe_kafka(settings)} ({exc}). Start it with `bash run.sh up` "
            "or point EMOPIPE_KAFKA_BOOTSTRAP / --kafka at a running broker (and check the EMOPIPE_KAFKA_SASL_* / "
            "EMOPIPE_KAFKA_SSL_CAFILE settings when it uses SASL_SSL)."
        )
    return None


if __name__ == "__main__":
    sys.exit(main())
