"""``emopipe lsl-bridge``: forward a Lab Streaming Layer stream to the raw Kafka topic of its modality.

Time: LSL timestamps are seconds on the *sender's* ``local_clock``.  Adding
``inlet.time_correction()`` maps them to this machine's LSL clock, and adding
``time.time() - pylsl.local_clock()`` (measured once at start) maps that to Unix
time; chunks carry the result in ns.  Streams with a nominal rate become regular
chunks (``t0_ns`` = time of the first sample); irregular streams (nominal rate 0)
keep every timestamp.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from agents.commands._publishing import add_producer_arguments, settings_for
from agents.producer import ChunkSink
from deploy.settings import MODALITIES, Settings
from pipeline.contract import safe_id
from pipeline.exceptions import ContractError
from pipeline.sources.live import AssemblerState, LiveStream, assemble_flush, assemble_step

logger = logging.getLogger(__name__)

HELP = "forward a Lab Streaming Layer stream to Kafka (pylsl)"
PIP = "pip install pylsl  (or: pip install 'emopipe[lsl]')"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe lsl-bridge``."""
    parser.add_argument("--type", dest="lsl_type", default=None,
                        help="resolve the LSL stream by type (e.g. EEG). A marker stream (type Markers, or any "
                             "string stream) goes to the markers topic: samples 'start:LABEL', 'end:LABEL', or "
                             "any other text as a point marker")  # fmt: skip
    parser.add_argument("--name", dest="lsl_name", default=None, help="resolve the LSL stream by name")
    parser.add_argument("--modality", choices=MODALITIES, default=None,
                        help="emopipe modality (default: the LSL type, lower-cased, if it is one)")  # fmt: skip
    parser.add_argument("--subject", required=True, help="subject id the stream belongs to (Kafka key)")
    parser.add_argument("--session", default="live", help="session id (default 'live')")
    parser.add_argument("--chunk-s", type=float, default=1.0, help="chunk length in s of signal (default 1.0)")
    parser.add_argument("--resolve-timeout-s", type=float, default=10.0, help="how long to look for the stream")
    parser.add_argument("--duration-s", type=float, default=None, help="stop after this many seconds (default: run)")
    add_producer_arguments(parser)


def _import_pylsl() -> Any:
    try:
        import pylsl
    except ImportError as exc:  # also raised when liblsl itself is missing
        msg = f"lsl-bridge needs pylsl and liblsl: {PIP}"
        raise ImportError(msg) from exc
    return pylsl


def _channel_layout(info: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    n = info.channel_count()
    labels, units = [], []
    ch = info.desc().child("channels").child("channel")
    for _ in range(n):
        labels.append(ch.child_value("label") or "")
        units.append(ch.child_value("unit") or "")
        ch = ch.next_sibling()
    if len(set(labels)) != n or "" in labels:
        labels = [f"ch{i}" for i in range(n)]
    return tuple(labels), tuple(units)


class LslBridge:
    """Pull from one LSL inlet and send chunks to a sink.

    Parameters
    ----------
    info : pylsl.StreamInfo
        A resolved stream.
    sink : ChunkSink
    subject_id, session_id : str
    modality : str, optional
        Default: the LSL type lower-cased.
    chunk_s : float
    unix_clock : callable
        Wall clock in s (``time.time``), injected for tests.
    """

    def __init__(self, info: Any, sink: ChunkSink, *, subject_id: str, session_id: str = "live",
                 modality: str | None = None, chunk_s: float = 1.0,
                 unix_clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        pylsl = _import_pylsl()
        modality = modality or info.type().lower()
        if modality not in MODALITIES:
            msg = f"LSL type {info.type()!r} is no emopipe modality; pass --modality"
            raise ValueError(msg)
        self.inlet = pylsl.StreamInlet(info, max_chunklen=0, recover=True)
        self.inlet.open_stream(timeout=10.0)
        full = self.inlet.info(timeout=10.0)  # a resolved info lacks the <desc> with channel labels
        fs = full.nominal_srate()
        channels, units = _channel_layout(full)
        self.spec = LiveStream(
            subject_id, session_id, safe_id(f"lsl-{full.source_id() or full.name()}"), modality, channels, units,
            fs if fs > 0 else None, max(1, round(chunk_s * (fs if fs > 0 else 30.0))),
        )  # fmt: skip
        self.sink = sink
        self.state = AssemblerState()
        self.unix_offset_s = unix_clock() - pylsl.local_clock()
        self.sent = 0

    def pump(self, timeout_s: float = 0.2) -> int:
        """Pull what is available, send complete chunks; return the number of chunks sent."""
        samples, stamps = self.inlet.pull_chunk(timeout=timeout_s, max_samples=4096)
        if not stamps:
            return 0
        correction = self.inlet.time_correction(timeout=2.0)
        t_ns = np.round((np.asarray(stamps) + correction + self.unix_offset_s) * 1e9).astype(np.int64)
        x = np.asarray(samples, dtype=np.float32).reshape(len(stamps), -1).T
        self.state, chunks = assemble_step(self.spec, self.state, x, t_ns)
        return self._send(chunks)

    def _send(self, chunks: list[Any]) -> int:
        for c in chunks:
            try:
                self.sink.send(c)
            except ContractError as exc:  # e.g. a sender clock that stepped back
                logger.warning("dropping chunk %s seq %d: %s", c.stream_key, c.seq, exc)
                continue
            self.sent += 1
        return len(chunks)

    def close(self) -> None:
        """Send what is pending, flush the sink and close the inlet."""
        self.state, chunks = assemble_flush(self.spec, self.state)
        self._send(chunks)
        self.sink.flush()
        self.inlet.close_stream()


class LslMarkerBridge:
    """Pull an LSL marker stream (string samples, e.g. type ``Markers``) and send condition markers.

    Each string sample becomes one :class:`pipeline.markers.Marker` (``source="lsl"``), its time the
    sample's LSL timestamp mapped to unix ns as for signal streams; the text is read with
    :func:`pipeline.markers.parse_marker_text` (``start:rest``, ``end:rest``, ``button`` ...).

    Parameters
    ----------
    info : pylsl.StreamInfo
    sink : object with ``send(marker)`` and ``flush()`` (:class:`agents.markers.MarkerProducer`)
    subject_id, session_id : str
    unix_clock : callable
    """

    def __init__(self, info: Any, sink: Any, *, subject_id: str, session_id: str = "live",
                 unix_clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        pylsl = _import_pylsl()
        self.inlet = pylsl.StreamInlet(info, max_chunklen=0, recover=True)
        self.inlet.open_stream(timeout=10.0)
        self.sink = sink
        self.subject_id, self.session_id = subject_id, session_id
        self.unix_offset_s = unix_clock() - pylsl.local_clock()
        self.sent = 0

    def pump(self, timeout_s: float = 0.2) -> int:
        """Pull what is available and send it; returns the number of markers sent."""
        from pipeline.markers import Marker, parse_marker_text

        samples, stamps = self.inlet.pull_chunk(timeout=timeout_s, max_samples=1024)
        if not stamps:
            return 0
        correction = self.inlet.time_correction(timeout=2.0)
        n = 0
        for sample, stamp in zip(samples, stamps, strict=True):
            text = " ".join(str(v) for v in (sample if isinstance(sample, list | tuple) else [sample]))
            try:
                kind, label = parse_marker_text(text)
                t_ns = round((stamp + correction + self.unix_offset_s) * 1e9)
                self.sink.send(Marker(self.subject_id, self.session_id, t_ns, kind, label, "lsl"))
            except ContractError as exc:
                logger.warning("dropping LSL marker %r: %s", text, exc)
                continue
            n += 1
        self.sent += n
        return n

    def close(self) -> None:
        """Flush the sink and close the inlet."""
        self.sink.flush()
        self.inlet.close_stream()


def is_marker_stream(info: Any) -> bool:
    """True for LSL string streams or streams of type ``Markers`` (the LSL convention for event markers)."""
    pylsl = _import_pylsl()
    return bool(info.type().lower() == "markers" or info.channel_format() == pylsl.cf_string)


def resolve(lsl_type: str | None, lsl_name: str | None, timeout_s: float) -> Any:
    """The first LSL stream with this type and/or name (LookupError if none within ``timeout_s``)."""
    pylsl = _import_pylsl()
    if lsl_name:
        found = pylsl.resolve_byprop("name", lsl_name, minimum=1, timeout=timeout_s)
        found = [s for s in found if lsl_type is None or s.type() == lsl_type]
    elif lsl_type:
        found = pylsl.resolve_byprop("type", lsl_type, minimum=1, timeout=timeout_s)
    else:
        msg = "give --type and/or --name to find the LSL stream"
        raise ValueError(msg)
    if not found:
        msg = f"no LSL stream with type={lsl_type!r} name={lsl_name!r} within {timeout_s} s"
        raise LookupError(msg)
    return found[0]


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Bridge until Ctrl-C or ``--duration-s``; returns 0."""
    from agents.producer import ChunkProducer

    settings = settings_for(args, settings)
    info = resolve(args.lsl_type, args.lsl_name, args.resolve_timeout_s)
    logger.info(
        "LSL stream %s (%s, %d ch, %.1f Hz)", info.name(), info.type(), info.channel_count(), info.nominal_srate()
    )
    stop_at = None if args.duration_s is None else time.monotonic() + args.duration_s
    if is_marker_stream(info):
        return _run_markers(info, args, settings, stop_at)
    with ChunkProducer(settings.kafka_bootstrap, settings=settings, encoding=args.encoding,
                       compression=args.compression, linger_ms=args.linger_ms) as producer:  # fmt: skip
        bridge = LslBridge(info, producer, subject_id=args.subject, session_id=args.session,
                           modality=args.modality, chunk_s=args.chunk_s)  # fmt: skip
        try:
            while stop_at is None or time.monotonic() < stop_at:
                bridge.pump()
        except KeyboardInterrupt:
            logger.info("stopping")
        finally:
            bridge.close()
    logger.info("sent %d chunks", bridge.sent)
    return 0


def _run_markers(info: Any, args: argparse.Namespace, settings: Settings, stop_at: float | None) -> int:
    from agents.markers import MarkerProducer
    from agents.topics import ensure_topics

    ensure_topics(settings, only=(settings.topic("markers"),))
    with MarkerProducer(settings) as producer:
        bridge = LslMarkerBridge(info, producer, subject_id=args.subject, session_id=args.session)
        try:
            while stop_at is None or time.monotonic() < stop_at:
                bridge.pump()
        except KeyboardInterrupt:
            logger.info("stopping")
        finally:
            bridge.close()
    logger.info("sent %d markers to %s", bridge.sent, settings.topic("markers"))
    return 0
