"""A child process of `mov serve` that must not outlive it: the worker companion, uvicorn's
workers. Killed outright (SIGKILL, the OOM killer), the server cannot stop them itself, and an
orphaned uvicorn worker would go on answering on the shared port; so each child asks Linux to
send it SIGTERM when its parent dies, and ends its graceful way then.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
SERVER_PID = "MOV_SERVER_PID"
"""Set by `mov serve` for uvicorn's workers, when it runs several: the pid they follow."""


def follow_parent(parent: str | None) -> None:
    """Be sent SIGTERM when process `parent` (a pid, as passed in the environment) dies, and
    end at once if it is gone already. Nothing happens without a pid, or off Linux."""
    if parent is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(parent):  # it died before the line above
        sys.exit(0)
