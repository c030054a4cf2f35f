"""Identifiers for calls: request ids, activation ids, trace ids. Unique and cheap to make.

They name calls and guard nothing, so Python's own generator serves: `uuid.uuid4()` asks the
kernel for randomness on every call, and a warm call makes several of them.
"""

from __future__ import annotations

import random
import uuid

_random = random.Random()  # seeded once from the operating system's randomness


def random_uuid() -> str:
    """A version 4 UUID in its usual text form, e.g. a Lambda request id."""
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))


def random_hex(digits: int) -> str:
    """`digits` random hexadecimal digits, e.g. an OpenWhisk activation id (32)."""
    return f"{_random.getrandbits(digits * 4):0{digits}x}"
