"""``dr2bench run CONFIG.yaml``: run a whole study, cached and resumable."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="the run config (YAML)")
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="where the work runs (default: local)",
    )
    parser.add_argument("--address", help="Ray cluster address (with --executor ray)")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (overrides the config)")
    parser.add_argument("--batch-size", type=int, help="images per batch (overrides the config)")
    parser.add_argument("--output", help="run folder (overrides the config)")
    parser.add_argument(
        "--limit", type=int, help="images per dataset, for a quick check (overrides the config)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this restorer (its name or label; repeat for several)",
    )
    parser.add_argument(
        "--keep-images",
        choices=["none", "outputs", "all"],
        help="which images stay in RUN_DIR/images after the run",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the grid and what is cached, compute nothing"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue or extend a run whose config changed (finished work is reused)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="compute failed images, metric values and set values again (a transient failure: "
        "a timeout, a full disk); successful results are kept",
    )
    parser.add_argument(
        "--report", action="store_true", help="write the HTML report when the run ends"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def main(args: argparse.Namespace) -> int:
    from bench.run.config import load_run_config
    from bench.run.executors import make_executor
    from bench.run.runner import Runner

    config = load_run_config(
        args.config,
        device=args.device,
        batch_size=args.batch_size,
        output=args.output,
        keep_images=args.keep_images,
        limit=args.limit,
        only=args.only,
    )
    executor = make_executor(args.executor, args.address, config.timeout_s)
    try:
        summary = Runner(config, executor, progress=not args.quiet).run(
            resume=args.resume, dry_run=args.dry_run, retry_failed=args.retry_failed
        )
    finally:
        executor.close()
    if args.dry_run:
        return 0
    done = ", ".join(f"{phase} {n}" for phase, n in summary.computed.items() if n)
    if done:
        print(f"computed: {done}")
    else:
        print(f"nothing new to compute: all {summary.rows} rows were cached")
    print(f"{summary.rows} rows in {summary.run_dir / 'records.parquet'}")
    for reason in sorted(summary.unavailable):
        print(f"unavailable here (tried again on the next run): {reason}")
    for line in summary.failures.lines():
        print(line)
    if summary.failed:
        print(
            f"see {summary.run_dir / 'run.log'} and the report's Failures; "
            "'dr2bench run CONFIG --retry-failed' computes failed work again"
        )
    if config.protocol:
        _print_protocol_score(summary.run_dir)
    if args.report:
        from reports.build import build_report

        print(build_report(summary.run_dir).html)
    return 1 if summary.failed else 0


def _print_protocol_score(run_dir: Path) -> None:
    """The protocol's weighted score per restorer, or the terms it is missing."""
    from reports.protocol_score import protocol_scores
    from reports.results import load_results

    scores = protocol_scores(load_results(run_dir))
    if scores is None:
        return
    for row in scores.to_dict("records"):
        where = f"{row['restorer']} on {row['dataset']}"
        if "total" in row:
            total = row["total"]
            text = f"{total:.4f}" if total == total and total is not None else "none"
            missing = f" (missing terms: {row['missing']})" if row.get("missing") else ""
            print(f"protocol score, {where}: {text}{missing}")
        if "low_identity" in row:
            print(f"low identity similarity, {where}: {row['low_identity']} images")
