"""Writes format1_states.msgpack: every kind of state encoded by the state codec's format 1 (run at 001c30c).

Format 1 stored dataclasses with their field names; format 2 (positional) must still read them.

    rm -rf /tmp/old && mkdir /tmp/old && git archive 001c30c | tar -x -C /tmp/old
    cd /tmp/old && EMOPIPE_DATA_DIR=/work/shared/data python <this file> <out.msgpack>

The states are those of tests/unit/test_statecodec.py's ``_all_kinds`` (real S02 E4 data, deterministic),
which the test recomputes with the current code and compares after decoding.
"""

import sys
from pathlib import Path

import msgpack

sys.path.insert(0, ".")
from deploy.settings import Settings
from pipeline.statecodec import FORMAT_VERSION, encode_state
from tests.unit.test_statecodec import SECONDS, _all_kinds, _live_states

assert FORMAT_VERSION == 1, "run at a commit with state codec format 1 (001c30c)"
kinds = _all_kinds(_live_states(str(Settings().data_dir), SECONDS * 4))
out = {"seconds": SECONDS, "records": {k: encode_state(v) for k, v in kinds.items()}}
Path(sys.argv[1]).write_bytes(msgpack.packb(out, use_bin_type=True))
