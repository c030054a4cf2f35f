"""The /run body the invoker sends: a value that is JSON already goes in as it is."""

from __future__ import annotations

import json

from emulator.invoker import encode
from emulator.model import EncodedJson


def test_a_value_is_encoded_with_the_rest() -> None:
    payload = {"value": {"n": 1}, "activation_id": "a1"}
    assert json.loads(encode(payload)) == payload


def test_an_encoded_value_goes_in_byte_for_byte() -> None:
    written = b'{"text": "caf\\u00e9", "big": 12345678901234567890, "x": 1.5e3}'
    body = encode({"value": EncodedJson(written), "activation_id": "a1", "deadline": "0"})
    assert written in body
    assert json.loads(body) == {"value": json.loads(written), "activation_id": "a1", "deadline": "0"}


def test_an_encoded_value_alone() -> None:
    assert json.loads(encode({"value": EncodedJson(b"[1, 2]")})) == {"value": [1, 2]}
