"""Writes legacy_states.pkl: states pickled by emopipe before the state codec (run at commit 403ec0c).

    git archive 403ec0c | tar -x -C /tmp/old && cd /tmp/old && python <this file> <out.pkl>

Real S02 E4 data (first 30 s of BVP and TEMP, 1 s chunks, 20 s windows). Each entry: the pickle bytes
of a state after ``n_chunks`` chunks, for tests/unit/test_statecodec.py to continue the stream.
"""

import dataclasses
import pickle
import sys
from pathlib import Path

from agents.ingest import IngestState
from agents.sources import read_e4_session
from pipeline.contract import continuity_step
from pipeline.sources.e4 import e4_session_chunks
from pipeline.stream import default_config, stream_init, stream_step

N_CHUNKS = 30
sig = read_e4_session(Path(sys.argv[2] if len(sys.argv) > 2 else "/work/shared/data") / "stress-predict/Raw_data/S02")
out = {}
for stem in ("BVP", "TEMP"):
    s = dataclasses.replace(sig[stem], samples=sig[stem].samples[:, : int(N_CHUNKS * sig[stem].fs_hz)])
    chunks = list(e4_session_chunks({stem: s}, subject_id="S02", session_id="legacy", chunk_s=1.0))
    cfg = dataclasses.replace(default_config(chunks[0].modality, chunks[0].fs_hz), window_s=20.0)
    st, cursor = stream_init(cfg), None
    for c in chunks:
        st, _ = stream_step(st, c.t0_ns, c.samples, c.seq)
        cursor, _ = continuity_step(cursor, c)
    out[f"stream_{stem.lower()}"] = pickle.dumps(st, protocol=pickle.HIGHEST_PROTOCOL)
    out[f"ingest_{stem.lower()}"] = pickle.dumps(IngestState(cursor, ("emopipe.raw.x", 0), 41), protocol=5)
out["n_chunks"] = N_CHUNKS
Path(sys.argv[1]).write_bytes(pickle.dumps(out))
