"""Adaptive CPU thread count for long runs on machines shared with other jobs.

On a small shared machine, two OpenMP threads are about twice as fast as one when the cores are
free, but several times slower when other processes compete for the cores (every parallel region
waits for its slowest thread). :class:`ThreadTuner` keeps timing both choices and uses the faster.
"""

from __future__ import annotations

import os
import time

import torch


class ThreadTuner:
    """Alternate between candidate thread counts, mostly using the fastest recently measured.

    Every ``period`` steps, each other candidate is tried for ``probe`` steps; the step times are
    smoothed per candidate and the fastest is used until the next probe.

    Args:
        candidates: thread counts to choose from (default: 1 and the core count).
        period: steps between probes.
        probe: steps per probe of each candidate.

    Example:
        >>> tuner = ThreadTuner(candidates=(1, 2))
        >>> for _ in range(3):
        ...     tuner.before_step()
        ...     tuner.after_step()
    """

    def __init__(
        self, candidates: tuple[int, ...] | None = None, period: int = 250, probe: int = 3
    ) -> None:
        cores = os.cpu_count() or 1
        self.candidates = candidates or tuple(sorted({1, cores}))
        self.period = period
        self.probe = probe
        self.seconds: dict[int, float] = {}
        self.current = max(self.candidates)
        self.count = 0
        self._started = 0.0

    def _schedule(self) -> int:
        position = self.count % self.period
        for i, threads in enumerate(self.candidates):
            if i * self.probe <= position < (i + 1) * self.probe:
                return threads
        return min(self.seconds, key=self.seconds.__getitem__) if self.seconds else self.current

    def before_step(self) -> None:
        """Pick the thread count for the next step and start its timer."""
        threads = self._schedule()
        if threads != self.current or torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
            self.current = threads
        self._started = time.perf_counter()

    def after_step(self) -> None:
        """Record the step's time for the current thread count."""
        elapsed = time.perf_counter() - self._started
        previous = self.seconds.get(self.current)
        self.seconds[self.current] = elapsed if previous is None else 0.7 * previous + 0.3 * elapsed
        self.count += 1

    def summary(self) -> str:
        """Smoothed seconds per step of each measured thread count."""
        return ", ".join(f"{k} threads {v:.2f} s" for k, v in sorted(self.seconds.items()))
