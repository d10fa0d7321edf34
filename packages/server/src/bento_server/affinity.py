"""One CPU per serving process.

Every request crosses Python threads several times (waitress' I/O thread, a request thread,
the API's runner and back), and each crossing hands over the GIL. Threads of one process
spread over several cores hand it over by waking a thread on another core, which loses the
race for the GIL to the thread that just released it (the "convoy effect"): on the 2-core
project machine a 1-worker server did 1.9-2.3x more batched requests per second on one core
than spread over two (docs/serving.md). So `bento serve` runs each worker on one CPU; models
that run their own multi-threaded kernels (TensorFlow's intra-op pool) may want it off.
"""
from __future__ import annotations

import logging
import os
from typing import Optional

__all__ = ["pin_to_one_cpu"]

log = logging.getLogger(__name__)


def pin_to_one_cpu(slot: int) -> Optional[int]:
    """Move this process (every thread it has, and so the ones it starts) to the `slot`-th
    (modulo) CPU it may use; None where that is not possible or there is one CPU anyway."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    cpu = cpus[slot % len(cpus)]
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, {cpu})
        except OSError as e:  # a thread that has just exited, or a sandbox that forbids it
            log.debug("cannot pin thread %d to CPU %d: %s", tid, cpu, e)
    return cpu
