"""What a run did: the work computed, the rows written, what failed and what could not run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.run.records import FailureCount


@dataclass
class RunSummary:
    """What a run did.

    Attributes:
        run_dir: The run folder.
        computed: Images (or values) computed, by phase.
        rows: Rows of ``records.parquet``.
        failures: Failed rows and missing metric values (:class:`FailureCount`).
        skipped: Files the datasets left out.
        unavailable: Why plugins could not run here (a missing weights file), each once.
    """

    run_dir: Path
    computed: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    failures: FailureCount = field(default_factory=lambda: FailureCount({}, {}, {}, 0))
    skipped: int = 0
    unavailable: set[str] = field(default_factory=set)

    @property
    def failed(self) -> int:
        """Failed rows plus missing metric values."""
        return self.failures.total

    def count(self, phase: str, images: int = 1) -> None:
        """Add ``images`` to what ``phase`` computed."""
        self.computed[phase] = self.computed.get(phase, 0) + images
