"""``dr2bench run --dry-run``: the grid, and how much of each phase is cached."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.run.plan import missing_weights
from bench.run.sets import feature_key

if TYPE_CHECKING:
    from bench.run.folder import RunFolder
    from bench.run.plan import Plan
    from bench.run.records import MetricInfo


def print_plan(folder: RunFolder, plan: Plan, metrics: list[MetricInfo]) -> None:
    """Print the cells, restorers and metrics of ``plan`` with the cached share of each phase."""
    cells = sorted({s.cell for s in plan.samples}, key=lambda c: c.parts())
    print(f"run '{plan.config.name}' -> {folder.path}")
    for cell in cells:
        count = sum(1 for s in plan.samples if s.cell == cell)
        print(f"  cell {'/'.join(cell.parts())} ({cell.dataset_kind}): {count} images")
    print(f"  restorers: {', '.join(p.label for p in plan.points)}")
    print(f"  metrics: {', '.join(m.name for m in metrics) or 'none'}")
    lq_done = sum(
        folder.done(s.lq_key, folder.lq(*s.cell.where(), s.image_id)) for s in plan.samples
    )
    pairs = [(p, s) for p in plan.points for s in plan.samples]
    out_done = sum(
        folder.done(plan.restore_key(p, s), folder.output(p.label, *s.cell.where(), s.image_id))
        for p, s in pairs
    )
    print(f"  degrade: {lq_done}/{len(plan.samples)} cached")
    print(f"  restore: {out_done}/{len(pairs)} cached")
    for metric in metrics:
        if metric.kind == "set":
            keys = [feature_key(metric, plan.restore_key(p, s)) for p, s in pairs]
            done = sum(folder.done(k) for k in keys)
            values = len({(s.cell, p.label) for p, s in pairs})
            print(f"  features {metric.name}: {done}/{len(keys)} cached; {values} set values")
            continue
        keys = [k for p, s in pairs if (k := plan.score_key(metric, p, s))]
        print(f"  score {metric.name}: {sum(folder.done(k) for k in keys)}/{len(keys)} cached")
    for point, why in missing_weights(plan):
        print(f"  unavailable here: {point}: {why}")
