"""Fuzzing the chunk decoder and validator (hypothesis): hostile bytes only ever give ContractError.

Properties:
- any bytes: ``decode_chunk`` returns a chunk or raises ContractError (never another exception);
- whatever ``decode_chunk`` accepts, ``encode_binary`` accepts and round-trips (the 2**70 ``seq``
  bug class: validation must be at least as strict as the encoder);
- accepted ids follow the id rule; escaped text never contains a terminal control character.
"""

from __future__ import annotations

import json

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.codec import MAGIC, decode_chunk, encode_binary, encode_json
from pipeline.contract import ID_PATTERN, SensorChunk, id_problem
from pipeline.exceptions import ContractError
from pipeline.text import escape_text
from tests.unit.chunk_strategies import chunks

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_or_contract_error(data: bytes) -> SensorChunk | None:
    try:
        chunk = decode_chunk(data, max_samples=10_000)
    except ContractError as exc:
        assert str(exc), "a dead letter needs a reason"
        return None
    # accepted: the encoder must accept it too, and the ids follow the rule
    assert decode_chunk(encode_binary(chunk, max_samples=10_000), max_samples=10_000) == chunk
    for name in ("subject_id", "session_id", "device_id"):
        assert id_problem(getattr(chunk, name)) is None
        assert ID_PATTERN.fullmatch(getattr(chunk, name))
    return chunk


@given(st.binary(max_size=2048))
@FUZZ
def test_random_bytes(data: bytes) -> None:
    _decode_or_contract_error(data)


@given(st.binary(max_size=512))
@FUZZ
def test_random_bytes_after_the_magic(data: bytes) -> None:
    _decode_or_contract_error(MAGIC + b"\x01" + data)
    _decode_or_contract_error(MAGIC + data)


@given(chunks(max_channels=2, max_n=8), st.data())
@FUZZ
def test_mutated_valid_messages(chunk: SensorChunk, data: st.DataObject) -> None:
    for enc in (encode_binary, encode_json):
        msg = bytearray(enc(chunk))
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(msg) - 1))
            op = data.draw(st.sampled_from(("flip", "set", "cut", "dup")))
            if op == "flip":
                msg[i] ^= 1 << data.draw(st.integers(0, 7))
            elif op == "set":
                msg[i] = data.draw(st.integers(0, 255))
            elif op == "cut":
                del msg[i:]
                break
            else:
                msg[i:i] = msg[i : i + data.draw(st.integers(1, 16))]
        _decode_or_contract_error(bytes(msg))


hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.sampled_from(["", "S02\x1b[2J", "S02\u202e", "\x00", "x" * 65, "caf\u00e9", "cafe\u0301", "S\u212a", "a b"]),
)
hostile_values = st.recursive(
    hostile_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
)
FIELDS = ("subject_id", "session_id", "device_id", "modality", "channels", "units", "fs_hz", "t0_ns", "seq",
          "samples", "timestamps_ns", "synthetic", "schema_version", "shape")  # fmt: skip


@given(chunks(max_channels=2, max_n=8), st.sampled_from(FIELDS), hostile_values, st.booleans())
@FUZZ
def test_one_hostile_field(chunk: SensorChunk, field: str, value: object, binary: bool) -> None:
    if binary:
        body = msgpack.unpackb(encode_binary(chunk)[5:], raw=False)
        body[field] = value
        try:
            data = MAGIC + b"\x01" + msgpack.packb(body, use_bin_type=True)
        except (OverflowError, TypeError, ValueError):  # msgpack cannot even carry it (ints beyond 64 bits)
            return
    else:
        body = json.loads(encode_json(chunk))
        body[field] = value
        data = json.dumps(body).encode()  # NaN and Infinity go out as JSON's non-standard constants
    _decode_or_contract_error(data)


@given(st.text(max_size=200))
@FUZZ
def test_escaped_text_is_printable(text: str) -> None:
    out = escape_text(text)
    assert out.isprintable()
    assert "\x1b" not in out and "\u202e" not in out
    assert escape_text(text, limit=20) == out or len(escape_text(text, limit=20)) == 20
