"""The grid runner: degrade, restore, score, record; each phase cached and resumable.

Phases run in order and each writes to disk: LQ images (shared by every restorer), restored
images (one per restorer run and image), then each metric separately. Finished work is in the
journal under its cache key, so a rerun computes only what is new, and a run killed at any
moment resumes where it stopped.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import to_dict
from bench.files import atomic_write_json, hash_value, remove_temporaries
from bench.registry import METRICS, RESTORERS
from bench.run import records, work
from bench.run.config import MetricSpec, RunConfig
from bench.run.dry_run import print_plan
from bench.run.journal import Journal, RunLock
from bench.run.manifest import now, run_manifest
from bench.run.plan import Cell, Plan, Run, Sample, make_plan
from bench.run.sets import compute_set_metric, set_rows
from reports.paths import gt_path, lq_path, output_path
from reports.run import SET_COLUMNS  # the reports read what the runner writes: one schema

log = logging.getLogger("dr2bench.run")
DEGRADE_CHUNK = 8


class ConfigChangedError(RuntimeError):
    """The output folder holds a run of another config and ``--resume`` was not given."""


@dataclass
class RunSummary:
    """What a run did."""

    run_dir: Path
    computed: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    unavailable: set[str] = field(default_factory=set)  # why plugins could not run here

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


@dataclass(frozen=True)
class MetricInfo:
    """A metric of the run, with what identifies its values.

    ``name`` is its column (its label, by default the registered name ``plugin``).
    """

    name: str
    plugin: str
    kind: str
    reference: str
    higher_is_better: bool
    version: int
    config: dict[str, Any]
    params_json: str

    def identity(self) -> dict[str, Any]:
        return {"metric": self.plugin, "version": self.version, "config": self.config}


def metric_info(spec: MetricSpec) -> MetricInfo:
    instance = METRICS.create(spec.name, **spec.params)
    cls = type(instance)
    return MetricInfo(
        name=spec.column,
        plugin=spec.name,
        kind=cls.kind,
        reference=getattr(cls, "reference", "gt"),
        higher_is_better=bool(cls.higher_is_better),
        version=int(cls.version),
        config=instance.config(),
        params_json=json.dumps(spec.params, sort_keys=True),
    )


class Runner:
    """Runs one config with one executor."""

    def __init__(self, config: RunConfig, executor: Any, *, progress: bool = True) -> None:
        self.config = config
        self.executor = executor
        self.progress = progress
        self.dir = Path(config.output)
        self.metrics = [metric_info(spec) for spec in config.metrics]
        self.summary = RunSummary(self.dir)
        self._tried: set[str] = set()  # keys computed (or attempted) in this run
        self.set_references: dict[str, Any] = {}

    # -- paths -------------------------------------------------------------------------------
    def lq(self, s: Sample) -> Path:
        return lq_path(self.dir, *s.cell.parts()[:2], s.cell.severity, s.cell.seed, s.image_id)

    def gt(self, s: Sample) -> Path:
        return gt_path(self.dir, s.cell.dataset, s.image_id)

    def out(self, run: Run, s: Sample) -> Path:
        c = s.cell
        return output_path(self.dir, run.label, c.dataset, c.chain, c.severity, c.seed, s.image_id)

    # -- driver ------------------------------------------------------------------------------
    def run(self, *, resume: bool = False, dry_run: bool = False) -> RunSummary:
        with RunLock(self.dir):
            plan = make_plan(self.config)
            self.journal = Journal(self.dir / "journal.jsonl")
            handler = None
            try:
                if dry_run:
                    print_plan(self, plan)
                    return self.summary
                self._check_config(resume)
                work.forget_unavailable()
                started = now()
                handler = self._attach_log()
                self._tidy(plan)
                self._degrade(plan)
                self._restore(plan)
                self._score(plan)
                for metric in self.metrics:
                    if metric.kind == "set":
                        compute_set_metric(self, plan, metric)
                self._write_outputs(plan, started)
            finally:
                self.journal.close()
                if handler is not None:
                    log.removeHandler(handler)
                    handler.close()
        return self.summary

    def _check_config(self, resume: bool) -> None:
        path = self.dir / "manifest.json"
        if resume or not path.exists():
            return
        try:
            previous = json.loads(path.read_text(encoding="utf-8")).get("config")
        except (ValueError, AttributeError) as exc:
            raise ConfigChangedError(
                f"{path} is damaged ({exc}); pass --resume to continue the run in this folder "
                "(finished work is reused and the manifest rewritten)"
            ) from exc
        if previous != to_dict(self.config):
            raise ConfigChangedError(
                f"{self.dir} holds a run of a different config; pass --resume to extend it "
                "(finished work is reused) or choose another output folder"
            )

    def _attach_log(self) -> logging.Handler:
        handler = logging.FileHandler(self.dir / "run.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.info("run %s started", self.config.name)
        return handler

    def _tidy(self, plan: Plan) -> None:
        """Remove what an interrupted write left; log the files the datasets left out."""
        removed = remove_temporaries(self.dir)
        if removed:
            log.info("removed %d temporary files of writes interrupted by a crash", removed)
        if self.journal.damaged:
            log.warning(
                "journal: %d damaged lines ignored; their work is done again", self.journal.damaged
            )
        for dataset, notes in plan.skipped.items():
            for note in notes:
                log.warning("dataset %s: %s", dataset, note)
        self.summary.skipped = sum(len(notes) for notes in plan.skipped.values())

    def _count(self, phase: str, images: int = 1) -> None:
        self.summary.computed[phase] = self.summary.computed.get(phase, 0) + images

    def _execute(
        self,
        phase: str,
        fn: Any,
        units: list[tuple],
        *,
        cpu_bound: bool = False,
        total: int,
        kind: str,
        unit: str = "img",
    ) -> None:
        """Run units, journal each result as it arrives, show progress.

        The bar counts the journal entries of ``kind`` (a restore unit also returns the scores
        of its outputs), ``total`` of them in all.
        """
        if not units:
            return
        from tqdm import tqdm

        gpus = 1.0 if self.config.device.startswith("cuda") and not cpu_bound else 0.0
        with tqdm(total=total, desc=phase, unit=unit, disable=not self.progress) as bar:
            for entries in self.executor.map(fn, units, cpu_bound=cpu_bound, gpus=gpus):
                for entry in entries:
                    for line in entry.pop("log", []):
                        log.info("%s | %s", phase, line)
                self.journal.append(entries)
                self._tried.update(entry["k"] for entry in entries)
                for entry in entries:
                    if entry.get("status") not in (None, "ok") or entry.get("error"):
                        log.warning("%s %s: %s", phase, entry.get("status"), entry.get("error"))
                    if entry.get("status") == "unavailable":
                        self.summary.unavailable.add(entry["error"])
                bar.update(sum(entry.get("kind") == kind for entry in entries))

    # -- phases ------------------------------------------------------------------------------
    def _done(self, key: str, path: Path | None = None) -> bool:
        """Whether a result is final: computed (with its file), or failed for good.

        A plugin that was unavailable (missing weights) is tried again on the next run, not
        again in this one.
        """
        entry = self.journal.get(key)
        if entry is None:
            return False
        if entry.get("status") == "unavailable":
            return key in self._tried
        return entry.get("status") != "ok" or path is None or path.exists()

    def _degrade(self, plan: Plan) -> None:
        todo = [s for s in plan.samples if not self._done(s.lq_key, self.lq(s))]
        items = [self._degrade_item(s) for s in todo]
        units = [(items[i : i + DEGRADE_CHUNK],) for i in range(0, len(items), DEGRADE_CHUNK)]
        self._count("degrade", len(items))
        self._execute(
            "degrade", work.degrade_unit, units, cpu_bound=True, total=len(items), kind="lq"
        )

    def _degrade_item(self, s: Sample) -> dict[str, Any]:
        synthetic = s.cell.dataset_kind == "synthetic"
        c = s.cell
        return {
            "key": s.lq_key,
            "source": str(s.source),
            "gt": str(s.gt) if s.gt else None,
            "lq_path": str(self.lq(s)),
            "gt_path": str(self.gt(s)),
            "chain": c.chain if synthetic else None,
            "severity": c.severity,
            "rng": [c.seed, c.dataset, s.image_id, c.chain, c.severity],
            "problem": s.problem,
        }

    def _lq_ok(self, s: Sample) -> bool:
        entry = self.journal.get(s.lq_key)
        return entry is not None and entry["status"] == "ok"

    def _restore(self, plan: Plan) -> None:
        """Restore what is missing and score it in the same pass (outputs decoded zero times).

        Units go round-robin over the restorer runs, so consecutive units read the same LQ and
        GT images (kept decoded by :func:`bench.run.work.read_input`).
        """
        specs = self._score_specs()
        per_run, count = [], 0
        for run in plan.runs:
            todo = [
                s
                for s in plan.samples
                if self._lq_ok(s) and not self._done(run.restore_key(s), self.out(run, s))
            ]
            params = json.dumps(run.params, sort_keys=True)
            units = []
            for batch in self._batches(run, todo):
                items = [self._restore_item(run, s) for s in batch]
                units.append((run.name, params, self.config.device, specs, items))
                count += len(items)
            per_run.append(units)
        units = [u for group in itertools.zip_longest(*per_run) for u in group if u is not None]
        self._count("restore", count)
        self._execute("restore", work.restore_unit, units, total=count, kind="out")

    def _score_specs(self) -> list[tuple[str, str, str, str, str]]:
        return [
            (m.name, m.plugin, m.params_json, m.kind, m.reference)
            for m in self.metrics
            if m.kind != "set"
        ]

    def _pending_scores(self, run: Run, s: Sample) -> dict[str, str]:
        """Cache keys of the per-image metric values of ``run`` on ``s`` not computed yet."""
        keys = {}
        for metric in self.metrics:
            if metric.kind == "set":
                continue
            key = self.score_key(metric, run, s)
            if key is not None and not self._done(key):
                keys[metric.name] = key
                self._count(f"score {metric.name}")
        return keys

    def _restore_item(self, run: Run, s: Sample) -> dict[str, Any]:
        return {
            "key": run.restore_key(s),
            "id": s.image_id,
            "lq_path": str(self.lq(s)),
            "out_path": str(self.out(run, s)),
            "seed": s.image_seed,
        } | self._score_item(run, s, self._pending_scores(run, s))

    def _batches(self, run: Run, samples: list[Sample]) -> list[list[Sample]]:
        """Batches of ``batch_size`` within a cell, or whole cells for whole-set restorers."""
        by_cell: dict[Cell, list[Sample]] = {}
        for s in samples:
            by_cell.setdefault(s.cell, []).append(s)
        if RESTORERS.create(run.name, **run.params).whole_set:
            return list(by_cell.values())
        size = self.config.batch_size
        return [
            group[i : i + size] for group in by_cell.values() for i in range(0, len(group), size)
        ]

    def _out_ok(self, run: Run, s: Sample) -> bool:
        entry = self.journal.get(run.restore_key(s))
        return entry is not None and entry["status"] == "ok"

    def score_key(self, metric: MetricInfo, run: Run, s: Sample) -> str | None:
        """The cache key of a per-image metric value, or None where it does not apply."""
        ref = self._ref_key(metric, s)
        if metric.kind == "paired" and ref is None:
            return None
        return hash_value(metric.identity() | {"out": run.restore_key(s), "ref": ref})

    def _ref_key(self, metric: MetricInfo, s: Sample) -> str | None:
        if metric.kind != "paired":
            return None
        return s.lq_key if metric.reference == "input" else s.gt_key

    def _score(self, plan: Plan) -> None:
        """Per-image metric values still missing for stored outputs (a metric added later)."""
        items = []
        for run in plan.runs:
            for s in plan.samples:
                if self._out_ok(run, s) and (keys := self._pending_scores(run, s)):
                    items.append(self._score_item(run, s, keys))
        size, specs = self.config.batch_size, self._score_specs()
        units = [
            (specs, self.config.device, items[i : i + size]) for i in range(0, len(items), size)
        ]
        values = sum(len(item["keys"]) for item in items)
        self._execute("score", work.score_unit, units, total=values, kind="score", unit="value")

    def _score_item(self, run: Run, s: Sample, keys: dict[str, str]) -> dict[str, Any]:
        return {
            "keys": keys,
            "out_path": str(self.out(run, s)),
            "gt_path": str(self.gt(s)) if s.gt_key else None,
            "input_path": str(self.lq(s)),
        }

    def _write_outputs(self, plan: Plan, started: str) -> None:
        rows, timings = [], []
        for run in plan.runs:
            for s in plan.samples:
                lq, out = self.journal.get(s.lq_key), self.journal.get(run.restore_key(s))
                scores = {
                    m.name: self._score_entry(m, run, s) for m in self.metrics if m.kind != "set"
                }
                rows.append(records.record_row(s, run, lq, out, scores))
                timings.append(records.timing_row(s, run, lq, out))
        sets = set_rows(self, plan)
        records.write_table(self.dir / "records.parquet", rows, records.KEY_COLUMNS)
        records.write_table(self.dir / "timings.parquet", timings, records.KEY_COLUMNS)
        records.write_table(
            self.dir / "sets.parquet", sets, records.SET_KEY_COLUMNS, columns=list(SET_COLUMNS)
        )
        self.summary.rows = len(rows)
        for row in rows:
            if row["status"] != "ok":
                self.summary.failures[row["status"]] = (
                    self.summary.failures.get(row["status"], 0) + 1
                )
        self._write_manifest(plan, started)
        self._prune_images()
        log.info("run finished: %d rows, %d failed", len(rows), self.summary.failed)

    def _score_entry(self, metric: MetricInfo, run: Run, s: Sample) -> dict | None:
        key = self.score_key(metric, run, s)
        return None if key is None else self.journal.get(key)

    def _write_manifest(self, plan: Plan, started: str) -> None:
        atomic_write_json(self.dir / "manifest.json", run_manifest(self, plan, started))

    def _prune_images(self) -> None:
        keep = self.config.keep_images
        images = self.dir / "images"
        doomed: Iterable[Path] = {
            "all": [],
            "outputs": [images / "lq", images / "gt"],
            "none": [images],
        }[keep]
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)
