"""``emopipe brainflow-bridge``: forward a BrainFlow board's EEG to the ``raw.eeg`` topic.

BrainFlow returns every board channel in rows; the bridge streams the EEG rows
(``BoardShim.get_eeg_channels``, in uV) as a regular ``eeg`` stream at the board's
sampling rate, with ``t0_ns`` from the board's timestamp row (Unix s) of each
chunk's first sample.  ``--board-id -1`` is BrainFlow's synthetic board (no hardware),
used by the tests; its chunks are still real BrainFlow output, but of a simulator,
so they are marked ``synthetic=True``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from typing import Any

import numpy as np

from agents.commands._publishing import add_producer_arguments, settings_for
from agents.producer import ChunkSink
from deploy.settings import Settings
from pipeline.contract import SensorChunk, safe_id
from pipeline.sources.live import AssemblerState, LiveStream, assemble_flush, assemble_step

logger = logging.getLogger(__name__)

HELP = "forward a BrainFlow board (EEG) to Kafka"
PIP = "pip install brainflow  (or: pip install 'emopipe[brainflow]')"
SYNTHETIC_BOARD_ID = -1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe brainflow-bridge``."""
    parser.add_argument("--board-id", type=int, required=True,
                        help="BrainFlow board id (BoardIds; -1 = synthetic board, no hardware)")  # fmt: skip
    parser.add_argument("--serial-port", default="", help="serial port of the board, if it needs one")
    parser.add_argument("--subject", required=True, help="subject id (Kafka key)")
    parser.add_argument("--session", default="live", help="session id (default 'live')")
    parser.add_argument("--chunk-s", type=float, default=1.0, help="chunk length in s (default 1.0)")
    parser.add_argument("--duration-s", type=float, default=None, help="stop after this many seconds (default: run)")
    parser.add_argument("--poll-s", type=float, default=0.1, help="how often to read the board buffer, s")
    add_producer_arguments(parser)


def _import_brainflow() -> Any:
    try:
        from brainflow import board_shim
    except ImportError as exc:
        msg = f"brainflow-bridge needs BrainFlow: {PIP}"
        raise ImportError(msg) from exc
    return board_shim


class BrainFlowBridge:
    """Read a prepared, streaming BrainFlow board and send EEG chunks to a sink."""

    def __init__(self, board: Any, sink: ChunkSink, *, subject_id: str, session_id: str = "live",
                 chunk_s: float = 1.0) -> None:  # fmt: skip
        bs = _import_brainflow()
        board_id = board.get_board_id()
        descr = bs.BoardShim.get_board_descr(board_id)
        self.eeg_rows = list(bs.BoardShim.get_eeg_channels(board_id))
        self.ts_row = int(bs.BoardShim.get_timestamp_channel(board_id))
        names = str(descr.get("eeg_names", "")).split(",")
        if len(names) != len(self.eeg_rows) or len(set(names)) != len(names):
            names = [f"eeg{i}" for i in range(len(self.eeg_rows))]
        fs = float(bs.BoardShim.get_sampling_rate(board_id))
        self.spec = LiveStream(subject_id, session_id, safe_id(f"brainflow-{descr.get('name', board_id)}"), "eeg",
                               tuple(names), ("uV",) * len(names), fs, max(1, round(chunk_s * fs)))  # fmt: skip
        self.synthetic = board_id == SYNTHETIC_BOARD_ID
        self.board, self.sink = board, sink
        self.state = AssemblerState()
        self.sent = 0

    def pump(self) -> int:
        """Read the board buffer, send complete chunks; return how many."""
        data = self.board.get_board_data()
        if data.shape[1] == 0:
            return 0
        t_ns = np.round(data[self.ts_row] * 1e9).astype(np.int64)
        self.state, chunks = assemble_step(self.spec, self.state, data[self.eeg_rows], t_ns)
        return self._send(chunks)

    def _send(self, chunks: list[SensorChunk]) -> int:
        for c in chunks:
            self.sink.send(dataclasses.replace(c, synthetic=self.synthetic))
            self.sent += 1
        return len(chunks)

    def close(self) -> None:
        """Send what is pending and flush (the caller stops the board)."""
        self.state, chunks = assemble_flush(self.spec, self.state)
        self._send(chunks)
        self.sink.flush()


def open_board(board_id: int, serial_port: str = "") -> Any:
    """Prepare and start a BrainFlow board session."""
    bs = _import_brainflow()
    params = bs.BrainFlowInputParams()
    params.serial_port = serial_port
    board = bs.BoardShim(board_id, params)
    board.prepare_session()
    board.start_stream()
    return board


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Bridge until Ctrl-C or ``--duration-s``; returns 0."""
    from agents.producer import ChunkProducer

    settings = settings_for(args, settings)
    board = open_board(args.board_id, args.serial_port)
    stop_at = None if args.duration_s is None else time.monotonic() + args.duration_s
    try:
        with ChunkProducer(settings.kafka_bootstrap, settings=settings, encoding=args.encoding,
                           compression=args.compression, linger_ms=args.linger_ms) as producer:  # fmt: skip
            bridge = BrainFlowBridge(board, producer, subject_id=args.subject, session_id=args.session,
                                     chunk_s=args.chunk_s)  # fmt: skip
            try:
                while stop_at is None or time.monotonic() < stop_at:
                    bridge.pump()
                    time.sleep(args.poll_s)
            except KeyboardInterrupt:
                logger.info("stopping")
            finally:
                bridge.close()
    finally:
        board.stop_stream()
        board.release_session()
    logger.info("sent %d chunks", bridge.sent)
    return 0
