"""CPU time and resident memory of this process, read cheaply enough for every agent invocation."""

from __future__ import annotations

import os
import time


def process_usage() -> tuple[float, float | None]:
    """(CPU seconds used by the process so far, resident bytes now or None where procfs is missing).

    Reads ``/proc/self/statm`` through a descriptor kept open (``pread`` at 0 regenerates it): ~1.4 µs
    against ~11 µs for open/read/close or psutil. Reopened after ``fork`` since the file is the opener's.
    """
    global _statm
    rss: float | None = None
    try:
        pid = os.getpid()
        if _statm is None or _statm[0] != pid:
            if _statm is not None:
                os.close(_statm[1])  # the forked child's copy of its parent's descriptor
            _statm = (pid, os.open("/proc/self/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)))
        rss = float(int(os.pread(_statm[1], 128, 0).split()[1]) * _PAGE)
    except (OSError, ValueError, IndexError, AttributeError):  # no procfs (macOS, Windows): CPU time only
        pass
    return time.process_time(), rss


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm: tuple[int, int] | None = None
