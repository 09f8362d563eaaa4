"""Bytes of window-stage state written per stream per 1 s chunk (real S02 E4, 10 min, 1 s chunks).

For every chunk, the state the window stage stores for that stream is measured as
- ``pickle``: the previous format (the whole state pickled, written after every chunk);
- ``codec``: the whole state in the state codec (pipeline.statecodec), when this checkout has it;
- ``incremental``: header + the chunk's new segment(s) in stored form (raw samples and the filter's
  delay line; the filtered ones are recomputed on read) + the config when it changes
  (pipeline.stream.stream_delta); tombstones of dropped segments are key-only records, counted as
  their key length, and every record's key is counted.
Medians over the chunks after the first window (60 s) per modality; raw input bytes per chunk
(binary wire encoding) for the ratio.

    .venv/bin/python bench/state_size.py
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.sources import read_e4_session  # noqa: E402
from bench._report import RESULTS_DIR, append_row, write_results  # noqa: E402
from deploy.settings import Settings  # noqa: E402
from pipeline.codec import encode_binary  # noqa: E402
from pipeline.sources.e4 import e4_session_chunks  # noqa: E402
from pipeline.steps import window_step  # noqa: E402

try:
    from pipeline.statecodec import encode_state
    from pipeline.stream import stream_delta
except ImportError:  # a checkout before the state codec
    encode_state = None  # type: ignore[assignment]


def main() -> None:
    sig = read_e4_session(Settings().data_dir / "stress-predict" / "Raw_data" / "S02")  # type: ignore[call-arg]
    sig = {k: dataclasses.replace(s, samples=s.samples[:, : int(600 * s.fs_hz)]) for k, s in sig.items()}
    states: dict[str, object] = {}
    rows: dict[str, dict[str, list[int]]] = {}
    for c in e4_session_chunks(sig, subject_id="S02", session_id="size", chunk_s=1.0):
        old = states.get(c.stream_key)
        new, _ = window_step(old, c)  # type: ignore[arg-type]
        states[c.stream_key] = new
        r = rows.setdefault(c.modality, {"input": [], "pickle": [], "codec": [], "incremental": []})
        r["input"].append(len(encode_binary(c)))
        r["pickle"].append(len(pickle.dumps(new, protocol=pickle.HIGHEST_PROTOCOL)))
        if encode_state is not None:
            r["codec"].append(len(encode_state(new)))
            cfg, header, added, dropped = stream_delta(old, new)  # type: ignore[arg-type]
            key = len(c.stream_key) + 8
            cfg_b = 0 if cfg is None else len(encode_state(cfg)) + key
            r["incremental"].append(
                cfg_b + len(encode_state(header)) + sum(len(encode_state(s)) + key for s in added) + key * len(dropped)
            )
    out: dict[str, dict[str, float]] = {}
    for m, r in rows.items():
        out[m] = {k: float(np.median(v[70:])) for k, v in r.items() if v}
    total = {k: sum(o.get(k, 0.0) for o in out.values()) for k in ("input", "pickle", "codec", "incremental")}
    result = {"per_chunk_bytes_median": out, "per_subject_second": total, "data": "S02 E4, first 10 min, 1 s chunks"}
    write_results(result, RESULTS_DIR / "state_size.json")
    fig = "; ".join(
        f"{m}: input {o['input']:.0f} B, pickle {o['pickle']:.0f}"
        + (f", codec {o['codec']:.0f}, incremental {o['incremental']:.0f}" if "codec" in o else "")
        for m, o in out.items()
    )
    fig += f"; per subject-second: input {total['input']:.0f} B, pickle {total['pickle']:.0f}"
    if total["codec"]:
        fig += f", codec {total['codec']:.0f}, incremental {total['incremental']:.0f}"
    append_row("window-stage state bytes written per 1 s chunk (median, real S02)", fig, "python bench/state_size.py")
    print(fig)


if __name__ == "__main__":
    main()
