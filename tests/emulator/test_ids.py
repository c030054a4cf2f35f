"""Call identifiers keep the forms the clouds use."""

from __future__ import annotations

import re
import uuid

from emulator.ids import random_hex, random_uuid


def test_random_uuid_is_a_version_4_uuid() -> None:
    ids = {random_uuid() for _ in range(1000)}
    assert len(ids) == 1000
    for text in ids:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text)
        assert uuid.UUID(text).version == 4


def test_random_hex_has_exactly_the_digits_asked_for() -> None:
    ids = {random_hex(32) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", text) for text in ids)
    assert re.fullmatch(r"[0-9a-f]{24}", random_hex(24))
