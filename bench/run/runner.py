"""The grid runner: degrade, restore, score, record; each phase cached and resumable.

Phases run in order and each writes to disk: LQ images (shared by every restorer), restored
images (one per grid point and image), then each metric separately. Finished work is in the
run folder's journal under its cache key (:class:`bench.run.folder.RunFolder`), so a rerun
computes only what is new, and a run killed at any moment resumes where it stopped.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Sequence
from typing import Any

from bench.config import to_dict
from bench.registry import METRICS
from bench.run import records, sets
from bench.run.config import GridPoint, MetricSpec, RunConfig
from bench.run.dry_run import print_plan
from bench.run.folder import RunFolder
from bench.run.manifest import now, run_manifest
from bench.run.plan import Cell, Plan, Sample, make_plan, missing_weights
from bench.run.records import MetricInfo
from bench.run.stages import PluginRef, forget_unavailable
from bench.run.summary import RunSummary
from bench.run.units import (
    DegradeItem,
    DegradeUnit,
    FeatureUnit,
    MetricRef,
    RestoreItem,
    RestoreUnit,
    ScoreItem,
    ScoreUnit,
    Unit,
)

log = logging.getLogger("dr2bench.run")
DEGRADE_CHUNK = 8
STAGE_OF_KIND = {"lq": "degrade", "out": "restore", "score": "score", "feat": "features"}


class ConfigChangedError(RuntimeError):
    """The output folder holds a run of another config and ``--resume`` was not given."""


def metric_info(spec: MetricSpec) -> MetricInfo:
    """A config's metric, created once to read its kind, direction and conventions."""
    instance = METRICS.create(spec.name, **spec.params)
    cls = type(instance)
    return MetricInfo(
        name=spec.column,
        plugin=spec.name,
        kind=cls.kind,
        higher_is_better=bool(cls.higher_is_better),
        reference=getattr(cls, "reference", "gt"),
        version=int(cls.version),
        config=instance.config(),
        params=dict(spec.params),
    )


class Runner:
    """Runs one config with one executor."""

    def __init__(
        self,
        config: RunConfig,
        executor: Any,
        *,
        progress: bool = True,
        companions: tuple[str, ...] = (),
    ) -> None:
        """``companions``: files a front door keeps in the run folder (its own config)."""
        self.config = config
        self.companions = companions
        self.executor = executor
        self.progress = progress
        self.folder = RunFolder(config.output)
        self.metrics = [metric_info(spec) for spec in config.metrics]
        self.summary = RunSummary(self.folder.path)
        self.set_references: dict[str, dict[str, Any]] = {}  # by set metric, by dataset

    # -- driver ------------------------------------------------------------------------------
    def run(
        self, *, resume: bool = False, dry_run: bool = False, retry_failed: bool = False
    ) -> RunSummary:
        """Run the config in its folder.

        Args:
            resume: Continue a run of another config in this folder (finished work is reused).
            dry_run: Print the grid and what is cached; compute nothing.
            retry_failed: Compute failed LQ images, outputs, metric values and set values
                again (once); successful results are not touched.
        """
        self.folder.check_is_a_run(self.companions)
        with self.folder.lock():
            plan = make_plan(self.config)
            self.folder.open()
            self.folder.retry_failed = retry_failed
            handler = None
            try:
                if dry_run:
                    print_plan(self.folder, plan, self.metrics)
                    return self.summary
                self._check_config(resume)
                self._announce_missing_weights(plan)
                forget_unavailable()
                started = now()
                handler = self._attach_log()
                self._tidy(plan)
                self._degrade(plan)
                self._restore(plan)
                self._score(plan)
                self._sets(plan)
                self._write_outputs(plan, started)
            finally:
                self.folder.close()
                if handler is not None:
                    log.removeHandler(handler)
                    handler.close()
        return self.summary

    def _check_config(self, resume: bool) -> None:
        path = self.folder.manifest_path
        if resume or not path.exists():
            return
        try:
            previous = self.folder.read_manifest().get("config")
        except ValueError as exc:
            raise ConfigChangedError(
                f"{path} is damaged ({exc}); pass --resume to continue the run in this folder "
                "(finished work is reused and the manifest rewritten)"
            ) from exc
        current, previous = _set_keys(to_dict(self.config)), _set_keys(previous or {})
        changed = sorted(
            key
            for key in set(current) | set(previous)
            if key != "output" and previous.get(key) != current.get(key)
        )  # where the folder is (moved, or named relative or absolute) is not the config
        if changed:
            raise ConfigChangedError(
                f"{self.folder.path} holds a run of a different config (changed: "
                f"{', '.join(changed)}); "
                "pass --resume to extend it (finished work is reused; results of what the new "
                "config leaves out stay in the journal but not in the tables) or choose another "
                "output folder"
            )

    def _announce_missing_weights(self, plan: Plan) -> None:
        """Say at the start, not after hours, which restorers cannot run here."""
        for point, why in missing_weights(plan):
            print(
                f"dr2bench run: {point} cannot run here: {why} (its rows will be recorded as "
                "unavailable; the others run)",
                file=sys.stderr,
            )

    def _attach_log(self) -> logging.Handler:
        handler = logging.FileHandler(self.folder.log_path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.info("run %s started", self.config.name)
        return handler

    def _tidy(self, plan: Plan) -> None:
        """Remove what an interrupted write left; log the files the datasets left out."""
        removed = self.folder.remove_temporaries()
        if removed:
            log.info("removed %d temporary files of writes interrupted by a crash", removed)
        if self.folder.damaged_lines:
            log.warning(
                "journal: %d damaged lines ignored; their work is done again",
                self.folder.damaged_lines,
            )
        for dataset, notes in plan.skipped.items():
            for note in notes:
                log.warning("dataset %s: %s", dataset, note)
        self.summary.skipped = sum(len(notes) for notes in plan.skipped.values())

    def _execute(
        self,
        phase: str,
        units: Sequence[Unit],
        *,
        cpu_bound: bool = False,
        total: int,
        kind: str,
        unit: str = "img",
    ) -> None:
        """Run units, record each result as it arrives, show progress.

        The bar counts the journal entries of ``kind`` (a restore unit also returns the scores
        of its outputs), ``total`` of them in all.
        """
        if not units:
            return
        from tqdm import tqdm

        gpus = 1.0 if self.config.device.startswith("cuda") and not cpu_bound else 0.0
        log.info("%s: %d to compute", phase, total)
        done, not_ok = 0, 0
        with tqdm(total=total, desc=phase, unit=unit, disable=not self.progress) as bar:
            for done_unit, entries in self.executor.map(units, cpu_bound=cpu_bound, gpus=gpus):
                # the bar and the log name the restorer at work
                who = done_unit.label if isinstance(done_unit, RestoreUnit) else ""
                if who:
                    bar.set_description(f"{phase} {who}")
                for entry in entries:
                    for line in entry.pop("log", []):
                        log.info("%s | %s", f"{phase} {who}".rstrip(), line)
                self.folder.record(entries)
                self._note(phase, entries, who)
                ours = [entry for entry in entries if entry.get("kind") == kind]
                done += len(ours)
                not_ok += sum(entry.get("status") != "ok" for entry in ours)
                bar.update(len(ours))
        log.info("%s finished: %d computed, %d of them not ok", phase, done, not_ok)

    def _note(self, phase: str, entries: list[dict[str, Any]], who: str = "") -> None:
        """Log what did not succeed (``who``: the restorer); remember what could not run here."""
        for entry in entries:
            if entry.get("status") not in (None, "ok") or entry.get("error"):
                stage = STAGE_OF_KIND.get(entry.get("kind", ""), phase)  # restore units score too
                where = f"{stage} {who}" if who else stage
                log.warning("%s %s: %s", where, entry.get("status"), entry.get("error"))
            if entry.get("status") == "unavailable":
                self.summary.unavailable.add(entry["error"])

    # -- phases ------------------------------------------------------------------------------
    def _degrade(self, plan: Plan) -> None:
        folder = self.folder
        todo = [
            s
            for s in plan.samples
            if not folder.done(s.lq_key, folder.lq(*s.cell.where(), s.image_id))
        ]
        items = [self._degrade_item(plan, s) for s in todo]
        units: list[Unit] = [
            DegradeUnit(tuple(items[i : i + DEGRADE_CHUNK]))
            for i in range(0, len(items), DEGRADE_CHUNK)
        ]
        self.summary.count("degrade", len(items))
        self._execute("degrade", units, cpu_bound=True, total=len(items), kind="lq")

    def _degrade_item(self, plan: Plan, s: Sample) -> DegradeItem:
        synthetic = s.cell.dataset_kind == "synthetic"
        c = s.cell
        return DegradeItem(
            key=s.lq_key,
            source=str(s.source),
            gt=str(s.gt) if s.gt else None,
            lq_path=str(self.folder.lq(*c.where(), s.image_id)),
            gt_path=str(self.folder.gt(c.dataset, s.image_id)),
            chain=plan.chains[c.chain] if synthetic else None,
            severity=c.severity,
            rng_key=(c.seed, c.dataset, s.image_id, c.chain, c.severity),
            problem=s.problem,
        )

    def _restore(self, plan: Plan) -> None:
        """Restore what is missing and score it in the same pass (outputs decoded zero times).

        Units go round-robin over the grid points, so consecutive units read the same LQ and
        GT images (kept decoded by :func:`bench.run.stages.read_input`).
        """
        specs = self._metric_refs()
        folder = self.folder
        per_point, count = [], 0
        for point in plan.points:
            todo = [
                s
                for s in plan.samples
                if folder.ok(s.lq_key)
                and not folder.done(
                    plan.restore_key(point, s),
                    folder.output(point.label, *s.cell.where(), s.image_id),
                )
            ]
            restorer = PluginRef("restorer", point.name, point.params_json)
            units = []
            for batch in self._batches(point, todo):
                items = tuple(self._restore_item(plan, point, s) for s in batch)
                units.append(RestoreUnit(restorer, point.label, self.config.device, specs, items))
                count += len(items)
            per_point.append(units)
        units = [u for group in itertools.zip_longest(*per_point) for u in group if u is not None]
        self.summary.count("restore", count)
        self._execute("restore", units, total=count, kind="out")

    def _metric_refs(self) -> tuple[MetricRef, ...]:
        return tuple(
            MetricRef(m.name, PluginRef("metric", m.plugin, m.params_json), m.kind, m.reference)
            for m in self.metrics
            if m.kind != "set"
        )

    def _pending_scores(self, plan: Plan, point: GridPoint, s: Sample) -> dict[str, str]:
        """Cache keys of the per-image metric values of ``point`` on ``s`` not computed yet."""
        keys = {}
        for metric in self.metrics:
            if metric.kind == "set":
                continue
            key = plan.score_key(metric, point, s)
            if key is not None and not self.folder.done(key):
                keys[metric.name] = key
                self.summary.count(f"score {metric.name}")
        return keys

    def _restore_item(self, plan: Plan, point: GridPoint, s: Sample) -> RestoreItem:
        return RestoreItem(
            key=plan.restore_key(point, s),
            id=s.image_id,
            lq_path=str(self.folder.lq(*s.cell.where(), s.image_id)),
            out_path=str(self.folder.output(point.label, *s.cell.where(), s.image_id)),
            seed=s.image_seed,
            score=self._score_item(point, s, self._pending_scores(plan, point, s)),
        )

    def _batches(self, point: GridPoint, samples: list[Sample]) -> list[list[Sample]]:
        """Batches of ``batch_size`` within a cell, or whole cells for whole-set restorers."""
        by_cell: dict[Cell, list[Sample]] = {}
        for s in samples:
            by_cell.setdefault(s.cell, []).append(s)
        if point.whole_set:
            return list(by_cell.values())
        size = self.config.batch_size
        return [
            group[i : i + size] for group in by_cell.values() for i in range(0, len(group), size)
        ]

    def _score(self, plan: Plan) -> None:
        """Per-image metric values still missing for stored outputs (a metric added later)."""
        items = []
        for point in plan.points:
            for s in plan.samples:
                if self.folder.ok(plan.restore_key(point, s)) and (
                    keys := self._pending_scores(plan, point, s)
                ):
                    items.append(self._score_item(point, s, keys))
        size, specs = self.config.batch_size, self._metric_refs()
        units: list[Unit] = [
            ScoreUnit(specs, self.config.device, tuple(items[i : i + size]))
            for i in range(0, len(items), size)
        ]
        values = sum(len(item.keys) for item in items)
        self._execute("score", units, total=values, kind="score", unit="value")

    def _score_item(self, point: GridPoint, s: Sample, keys: dict[str, str]) -> ScoreItem:
        c = s.cell
        return ScoreItem(
            keys=keys,
            out_path=str(self.folder.output(point.label, *c.where(), s.image_id)),
            gt_path=str(self.folder.gt(c.dataset, s.image_id)) if s.gt_key else None,
            input_path=str(self.folder.lq(*c.where(), s.image_id)),
        )

    def _sets(self, plan: Plan) -> None:
        """Set metrics: the missing features of every image, then each cell's value."""
        size, device = self.config.batch_size, self.config.device
        for metric in self.metrics:
            if metric.kind != "set":
                continue
            instance = METRICS.create(metric.plugin, **metric.params)
            references = sets.cell_references(instance, self.config.datasets)
            self.set_references[metric.name] = references
            items = sets.feature_items(self.folder, plan, metric, references)
            extractor = PluginRef("metric", metric.plugin, metric.params_json)
            units: list[Unit] = [
                FeatureUnit(extractor, device, tuple(items[i : i + size]))
                for i in range(0, len(items), size)
            ]
            phase = f"features {metric.name}"
            self.summary.count(phase, len(items))
            self._execute(phase, units, total=len(items), kind="feat")
            entries = sets.set_values(self.folder, plan, metric, instance, references)
            self.folder.record(entries)
            self._note(f"set {metric.name}", entries)

    def _write_outputs(self, plan: Plan, started: str) -> None:
        rows, timings = [], []
        for point in plan.points:
            for s in plan.samples:
                lq = self.folder.entry(s.lq_key)
                out = self.folder.entry(plan.restore_key(point, s))
                scores = {
                    m.name: self.folder.entry(key) if (key := plan.score_key(m, point, s)) else None
                    for m in self.metrics
                    if m.kind != "set"
                }
                rows.append(records.record_row(s, point, lq, out, scores))
                timings.append(records.timing_row(s, point, lq, out))
        set_rows = sets.set_rows(self.folder, plan, self.metrics, self.set_references)
        self.folder.write_table("records", rows, records.KEY_COLUMNS)
        self.folder.write_table("timings", timings, records.KEY_COLUMNS)
        self.folder.write_table(
            "sets", set_rows, records.SET_KEY_COLUMNS, columns=list(records.SET_COLUMNS)
        )
        self.summary.rows = len(rows)
        self.summary.failures = records.count_failures(rows, set_rows, self.summary.skipped)
        self.folder.write_manifest(run_manifest(plan, self.metrics, self.summary, started))
        self.folder.prune_images(self.config.keep_images)
        failed = self.summary.failures.lines()
        log.info("run finished: %d rows; %s", len(rows), "; ".join(failed) or "nothing failed")


def _set_keys(value: Any) -> Any:
    """A config without its unset (``None``) keys: a key a newer dr2bench added, left unset,
    does not make an older run's config "different"."""
    if isinstance(value, dict):
        return {k: _set_keys(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_set_keys(v) for v in value]
    return value
