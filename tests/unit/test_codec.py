"""Binary and JSON codecs: exact round trips; hostile input only ever gives ContractError."""

from __future__ import annotations

import contextlib
import json

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.codec import MAGIC, decode_chunk, encode, encode_binary, encode_json
from pipeline.contract import SensorChunk
from pipeline.exceptions import ContractError
from tests.unit.chunk_strategies import chunks

FAST = settings(max_examples=60, deadline=None)


@given(chunks())
@FAST
def test_binary_round_trip(chunk: SensorChunk) -> None:
    data = encode_binary(chunk)
    assert data.startswith(MAGIC + b"\x01")
    assert decode_chunk(data) == chunk


@given(chunks())
@FAST
def test_json_round_trip_keeps_float32_bits(chunk: SensorChunk) -> None:
    data = encode_json(chunk)
    back = decode_chunk(data)
    assert back == chunk
    assert back.samples.tobytes() == chunk.samples.tobytes()
    assert json.loads(data)["schema_version"] == 1


def test_encode_dispatch_and_validation() -> None:
    c = SensorChunk("s", "x", "d", "eda", ("eda",), ("uS",), 4.0, 0, 0, np.array([[np.nan]], np.float32))
    with pytest.raises(ContractError, match="non-finite"):
        encode(c, "binary")
    with pytest.raises(ContractError, match="non-finite"):
        encode(c, "json")
    with pytest.raises(ValueError, match="unknown encoding"):
        encode(c, "xml")  # type: ignore[arg-type]


def test_decoded_arrays_are_native_and_read_only() -> None:
    c = SensorChunk("s", "x", "d", "eda", ("eda",), ("uS",), 4.0, 0, 0, np.array([[1.5, 2.5]], np.float32))
    back = decode_chunk(encode_binary(c))
    assert back.samples.dtype == np.float32 and back.samples.dtype.isnative
    assert not back.samples.flags.writeable


@given(st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_random_bytes_give_contract_error(data: bytes) -> None:
    with pytest.raises(ContractError):
        decode_chunk(data)


@given(st.binary(max_size=200))
@settings(max_examples=100, deadline=None)
def test_magic_plus_garbage_gives_contract_error(tail: bytes) -> None:
    with pytest.raises(ContractError):
        decode_chunk(MAGIC + b"\x01" + tail)


@given(chunks(max_n=10), st.data())
@settings(max_examples=60, deadline=None)
def test_truncated_messages_give_contract_error(chunk: SensorChunk, data: st.DataObject) -> None:
    for enc in (encode_binary, encode_json):
        msg = enc(chunk)
        cut = data.draw(st.integers(0, len(msg) - 1))
        with pytest.raises(ContractError):
            decode_chunk(msg[:cut])


def _json_body(chunk: SensorChunk) -> dict[str, object]:
    return json.loads(encode_json(chunk))


hostile_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.lists(st.one_of(st.text(max_size=2), st.none(), st.booleans()), max_size=3), max_size=3),
)


@given(chunks(max_n=8), st.data(), hostile_values)
@settings(max_examples=150, deadline=None)
def test_wrong_field_types_give_contract_error(chunk: SensorChunk, data: st.DataObject, value: object) -> None:
    json_body = _json_body(chunk)
    bin_body = msgpack.unpackb(encode_binary(chunk)[5:], raw=False)
    messages = []
    key = data.draw(st.sampled_from(sorted(json_body)))
    json_body[key] = value
    messages.append(json.dumps(json_body).encode())
    key = data.draw(st.sampled_from(sorted(bin_body)))
    bin_body[key] = value
    with contextlib.suppress(OverflowError):  # msgpack has no ints beyond 64 bits
        messages.append(MAGIC + b"\x01" + msgpack.packb(bin_body, use_bin_type=True))
    for raw in messages:
        try:
            decoded = decode_chunk(raw)
        except ContractError:
            continue
        # a replacement can be harmless (e.g. another valid id); the result must then be a valid chunk
        assert isinstance(decoded, SensorChunk)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "unknown encoding"),
        (b"\x00\x01garbage", "unknown encoding"),
        (MAGIC + b"\x07abc", "unknown binary format byte"),
        (b"[1, 2]", "unknown encoding"),
        (b'{"schema_version": 2}', "unknown schema_version 2"),
        (b'{"schema_version": 1}', "lacks field(s)"),
        (b"{not json", "malformed message"),
        (b'\xff{"a":1}', "unknown encoding"),
    ],
)
def test_malformed_reasons(raw: bytes, reason: str) -> None:
    with pytest.raises(ContractError) as info:
        decode_chunk(raw)
    assert reason in str(info.value)


def test_non_bytes_input() -> None:
    with pytest.raises(ContractError, match="expected bytes"):
        decode_chunk("EMO1")  # type: ignore[arg-type]


def test_json_nan_and_ragged_rows_rejected() -> None:
    c = SensorChunk("s", "x", "d", "acc", ("x", "y"), ("g", "g"), 32.0, 0, 0, np.zeros((2, 3), np.float32))
    body = _json_body(c)
    text = json.dumps(body).replace("0.0", "NaN", 1).encode()
    with pytest.raises(ContractError, match="non-finite number NaN"):
        decode_chunk(text)
    body["samples"] = [[0.0, 1.0], [0.0]]
    with pytest.raises(ContractError, match="rows differ in length"):
        decode_chunk(json.dumps(body).encode())
    body["samples"] = [[0.0, 1e39, 0.0], [0.0, 0.0, 0.0]]  # overflows float32
    with pytest.raises(ContractError, match="non-finite sample"):
        decode_chunk(json.dumps(body).encode())


def test_oversized_rejected_before_allocation() -> None:
    c = SensorChunk("s", "x", "d", "eeg", ("a",), ("uV",), 250.0, 0, 0, np.zeros((1, 50), np.float32))
    with pytest.raises(ContractError, match="oversized"):
        decode_chunk(encode_binary(c), max_samples=49)
    with pytest.raises(ContractError, match="oversized"):
        decode_chunk(encode_json(c), max_samples=49)
