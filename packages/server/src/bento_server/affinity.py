"""One CPU per serving process, under the batch scheduling policy.

Every request crosses Python threads several times (waitress' I/O thread, a request thread,
the API's runner and back), and each crossing hands over the GIL. Threads of one process
spread over several cores hand it over by waking a thread on another core, which loses the
race for the GIL to the thread that just released it (the "convoy effect"): on the 2-core
project machine a 1-worker server did 1.9-2.3x more batched requests per second on one core
than spread over two (docs/serving.md). So `bento serve` runs each worker on one CPU; models
that run their own multi-threaded kernels (TensorFlow's intra-op pool) may want it off.

On that one CPU a thread woken by another (the runner by the event loop, the loop by the
runner, the engine's threads by either) preempts the thread that woke it, which still holds
the GIL the woken one needs: it runs only to wait for it, and the two switch back and forth.
Under SCHED_BATCH (Linux; any user may choose it) a woken thread does not preempt: it runs when
the running one blocks and releases the GIL. Measured on the project machine (docs/benchmarks.md,
run N): 8 context switches a request on the loop's thread became 3, 32-connection throughput
rose 13-37 %, the 1-connection p50 fell 2-13 %.
"""
from __future__ import annotations

import logging
import os
from typing import Optional

__all__ = ["run_on_one_cpu"]

log = logging.getLogger(__name__)


def run_on_one_cpu(slot: int) -> Optional[int]:
    """Run this process (every thread it has, and so the ones it starts) under SCHED_BATCH, on
    the `slot`-th (modulo) CPU it may use; that CPU, or None where the process has one CPU
    anyway or cannot be pinned."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[slot % len(cpus)] if len(cpus) > 1 else None
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    batch = getattr(os, "SCHED_BATCH", None)
    for tid in threads:
        try:
            if cpu is not None:
                os.sched_setaffinity(tid, {cpu})
            if batch is not None:
                os.sched_setscheduler(tid, batch, os.sched_param(0))
        except OSError as e:  # a thread that has just exited, or a sandbox that forbids it
            log.debug("cannot move thread %d (CPU %s, SCHED_BATCH): %s", tid, cpu, e)
    return cpu
