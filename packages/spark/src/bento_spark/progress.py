"""Job progress on stderr while `bento spark-run` writes: tasks done per active stage (Spark's
status tracker) and rows scored so far (an accumulator, updated as tasks finish)."""
from __future__ import annotations

import sys
import threading
from typing import IO, Any, Optional

__all__ = ["JobProgress"]


class JobProgress:
    """Context manager: a daemon thread polls `spark_context` every `interval` seconds and prints
    a line when something changed (rewritten in place on a terminal)."""

    def __init__(self, spark_context: Any, rows: Any, stream: Optional[IO[str]] = None,
                 interval: float = 1.0) -> None:
        self._sc = spark_context
        self._rows = rows
        self._stream = stream or sys.stderr
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bento-spark-progress", daemon=True)
        self._last = ""
        self._tty = self._stream.isatty()

    def __enter__(self) -> "JobProgress":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        if self._tty and self._last:
            self._stream.write("\n")
            self._stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            line = self.line()
            if line and line != self._last:
                self._stream.write(f"\r\x1b[K{line}" if self._tty else f"{line}\n")
                self._stream.flush()
                self._last = line

    def line(self) -> str:
        """e.g. `stage 3: 5/8 tasks, 1,250,000 rows done`; empty when no stage is running."""
        tracker = self._sc.statusTracker()
        stages = [info for info in map(tracker.getStageInfo, sorted(tracker.getActiveStageIds())) if info]
        if not stages:
            return ""
        tasks = ", ".join(f"stage {s.stageId}: {s.numCompletedTasks}/{s.numTasks} tasks" for s in stages)
        return f"{tasks}, {self._rows.value:,} rows done"
