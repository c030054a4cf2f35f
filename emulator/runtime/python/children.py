"""What the adapters that start a process of their own share (a custom runtime's bootstrap, an
Azure custom handler). The proxy loads this file, as it loads the adapters, under the name
``_emu_children``; it uses the standard library only, like everything in this folder."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable


def parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn``: on Linux, the kernel SIGKILLs the child if the instance dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl
    return lambda: prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
