"""Online models of how long a batch takes and how fast requests arrive, for the batcher's decisions."""
from __future__ import annotations

__all__ = ["LatencyModel", "ArrivalRate"]


class LatencyModel:
    """Batch time t(n) = a + b*n, fitted by exponentially weighted least squares.

    Recent batches weigh most (`decay` per observation), so the fit follows a model whose cost
    drifts (warm caches, another tenant on the machine). While the observed sizes barely vary,
    a and b cannot be told apart; then half the mean time is taken as fixed cost, which neither
    promises huge batches for free nor calls batching useless.
    """

    def __init__(self, decay: float = 0.9) -> None:
        self.decay = decay
        self._s0 = self._sn = self._snn = self._st = self._snt = 0.0
        self.a = 0.0
        self.b = 0.0
        self.ready = False

    def observe(self, n: int, seconds: float) -> None:
        d = self.decay
        self._s0 = self._s0 * d + 1.0
        self._sn = self._sn * d + n
        self._snn = self._snn * d + n * n
        self._st = self._st * d + seconds
        self._snt = self._snt * d + n * seconds
        self._fit()
        self.ready = True

    def _fit(self) -> None:
        s0, sn, st = self._s0, self._sn, self._st
        mean_n, mean_t = sn / s0, st / s0
        spread = self._snn / s0 - mean_n * mean_n
        if spread < 0.25:
            self.a, self.b = mean_t / 2, mean_t / (2 * mean_n)
            return
        b = (self._snt / s0 - mean_n * mean_t) / spread
        a = mean_t - b * mean_n
        if b < 0:
            a, b = mean_t, 0.0
        elif a < 0:
            a, b = 0.0, self._snt / self._snn
        self.a, self.b = a, b

    def predict(self, n: float) -> float:
        """Seconds a batch of `n` rows is expected to take (0 before any observation)."""
        return self.a + self.b * n


class ArrivalRate:
    """Rows per second arriving, from an exponentially weighted mean of the gap per row."""

    def __init__(self, alpha: float = 0.1) -> None:
        self.alpha = alpha
        self._gap = 0.0
        self._last = None

    def arrived(self, now: float, rows: int) -> None:
        if self._last is not None:
            gap = (now - self._last) / max(rows, 1)
            self._gap = gap if self._gap == 0.0 else self._gap + self.alpha * (gap - self._gap)
        self._last = now

    @property
    def per_second(self) -> float:
        return 1.0 / self._gap if self._gap > 0 else 0.0
