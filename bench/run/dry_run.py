"""``dr2bench run --dry-run``: the grid, and how much of each phase is cached."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.run.plan import Plan
    from bench.run.runner import Runner


def print_plan(runner: Runner, plan: Plan) -> None:
    """Print the cells, restorers and metrics of ``plan`` with the cached share of each phase."""
    cells = sorted({s.cell for s in plan.samples}, key=lambda c: c.parts())
    print(f"run '{runner.config.name}' -> {runner.dir}")
    for cell in cells:
        count = sum(1 for s in plan.samples if s.cell == cell)
        print(f"  cell {'/'.join(cell.parts())} ({cell.dataset_kind}): {count} images")
    print(f"  restorers: {', '.join(r.label for r in plan.runs)}")
    print(f"  metrics: {', '.join(m.name for m in runner.metrics) or 'none'}")
    lq_done = sum(1 for s in plan.samples if runner._done(s.lq_key, runner.lq(s)))
    pairs = [(r, s) for r in plan.runs for s in plan.samples]
    out_done = sum(1 for r, s in pairs if runner._done(r.restore_key(s), runner.out(r, s)))
    print(f"  degrade: {lq_done}/{len(plan.samples)} cached")
    print(f"  restore: {out_done}/{len(pairs)} cached")
    for metric in runner.metrics:
        if metric.kind == "set":
            continue
        keys = [k for r, s in pairs if (k := runner.score_key(metric, r, s))]
        print(f"  score {metric.name}: {sum(runner._done(k) for k in keys)}/{len(keys)} cached")
