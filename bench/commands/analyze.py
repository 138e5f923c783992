"""``dr2bench analyze``: check DR2's premise on data and choose N, tau, omega from it.

Examples::

    dr2bench analyze invariance --input ../shared/data/hq --chains classic,unseen \\
        --severities 1,3,5 --lowpass 4 8 16 --steps 0,10,20,40,60 --output analysis/hq
    dr2bench analyze suggest --input ../shared/data/real/wider --reference ../shared/data/hq
    dr2bench analyze sweep --input ../shared/data/hq --N 4,8,16 --tau 20,35,50 \\
        --set K=100 --output runs/dr2_sweep --report

See ``docs/analysis.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.commands.restore import add_settings, parse_settings
from bench.config import ConfigError


def _names(values: list[str]) -> tuple[str, ...]:
    """``["a", "b,c"]`` to ``("a", "b", "c")``: space- or comma-separated values."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _ints(values: list[str]) -> tuple[int, ...]:
    """``["4", "8,16"]`` to ``(4, 8, 16)``: space- or comma-separated integers."""
    try:
        return tuple(int(part) for part in _names(values))
    except ValueError as exc:
        raise ConfigError(f"expected integers, got {' '.join(values)!r}") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    _invariance_arguments(
        sub.add_parser(
            "invariance",
            help="distance between diffused clean and degraded faces against t, per band",
            description="How distinguishable q(x_t|x) and q(y_t|y) are, per degradation, t and "
            "band (full and Phi_N): closed form, linear probe and MMD; tables, figures, JSON.",
        )
    )
    _suggest_arguments(
        sub.add_parser(
            "suggest",
            help="recommend (N, tau, omega) for a folder of degraded faces, with the reasoning",
            description="Recommend DR2's (N, tau, omega) for degraded faces, measured against a "
            "reference set of clean faces (unpaired).",
        )
    )
    _sweep_arguments(
        sub.add_parser(
            "sweep",
            help="run DR2 over a grid of N and tau through the grid runner",
            description="Write a run config over a grid of N and tau and run it (cached, "
            "resumable); its report holds the trade-off figure.",
        )
    )


def _list(parser: argparse.ArgumentParser, flag: str, default: str, help: str, **kw: Any) -> None:
    """An option of space- or comma-separated values; its help names the default."""
    parser.add_argument(
        flag, nargs="+", default=[default], help=f"{help} (default {default})", **kw
    )


def _common(parser: argparse.ArgumentParser, lowpass: str) -> None:
    _list(parser, "--lowpass", lowpass, "low-pass factors N", metavar="N")
    parser.add_argument(
        "--respacing",
        type=int,
        default=100,
        metavar="K",
        help="respaced schedule length K, the units of tau (default 100)",
    )
    parser.add_argument("--size", type=int, default=256, help="model image side (default 256)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.05,
        help="largest signal ratio counted as indistinguishable (default 0.05)",
    )
    parser.add_argument("--limit", type=int, help="first N images only")


def _invariance_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, type=Path, help="folder of clean faces")
    parser.add_argument("--output", required=True, type=Path, help="folder for the results")
    _list(parser, "--chains", "classic,unseen", "degradation chains")
    _list(parser, "--severities", "1,3,5", "severities of every chain")
    _list(parser, "--steps", "0,10,20,30,40,60,80", "respaced steps of the probe and MMD")
    parser.add_argument(
        "--features",
        choices=["spectrum", "inception"],
        default="spectrum",
        help="features of the probe and MMD (default spectrum; inception: slow)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="significance of the probe's test against chance (default 0.05)",
    )
    parser.add_argument("--folds", type=int, default=5, help="probe folds, split by face")
    parser.add_argument("--seed", type=int, default=0, help="degradation and noise seed")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    _common(parser, "4,8,16")


def _suggest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, type=Path, help="folder of degraded faces")
    parser.add_argument(
        "--reference",
        required=True,
        type=Path,
        help="folder of clean faces like the model's training data",
    )
    parser.add_argument("--output", type=Path, help="write the suggestion as JSON here")
    _common(parser, "2,4,8,16")


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, type=Path, help="folder of clean faces")
    parser.add_argument("--output", required=True, type=Path, help="the run folder")
    _list(parser, "--N", "4,8,16", "low-pass factors of the grid", dest="factors")
    _list(parser, "--tau", "20,35,50", "output steps of the grid", dest="taus")
    parser.add_argument("--restorer", default="dr2", help="the DR2 restorer (default dr2)")
    add_settings(parser, "a fixed restorer parameter (YAML value); repeatable")
    _list(parser, "--baselines", "identity", "restorers beside the grid")
    parser.add_argument("--chains", nargs="+", default=["classic"], help="default classic")
    parser.add_argument("--severities", nargs="+", default=["3"], help="default 3")
    _list(
        parser,
        "--metrics",
        "psnr,fid",
        "metrics: a fidelity (psnr, ids) and a quality (fid, niqe) one for the trade-off figure",
    )
    parser.add_argument("--limit", type=int, help="first N images only")
    parser.add_argument("--seed", type=int, default=0, help="run seed")
    parser.add_argument("--batch-size", type=int, default=8, help="images per call")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--executor", choices=["local", "ray"], default="local")
    parser.add_argument("--resume", action="store_true", help="extend a run whose config changed")
    parser.add_argument(
        "--config-only", action="store_true", help="write and check OUTPUT/sweep.yaml, run nothing"
    )
    parser.add_argument("--report", action="store_true", help="write the report (trade-off)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def main(args: argparse.Namespace) -> int:
    handlers = {"invariance": _run_invariance, "suggest": _run_suggest, "sweep": _run_sweep}
    return handlers[args.analysis](args)


def _run_invariance(args: argparse.Namespace) -> int:
    from dr2.analysis.experiment import InvarianceConfig
    from dr2.analysis.invariance import measure
    from dr2.analysis.outputs import threshold_markdown, write_invariance

    config = InvarianceConfig(
        input=args.input,
        chains=_names(args.chains),
        severities=_ints(args.severities),
        lowpass=_ints(args.lowpass),
        steps=_ints(args.steps),
        respacing=args.respacing,
        size=args.size,
        threshold=args.threshold,
        features=args.features,
        alpha=args.alpha,
        folds=args.folds,
        limit=args.limit,
        seed=args.seed,
    )
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    result = measure(config, progress)
    files = write_invariance(result, args.output)
    print(threshold_markdown(result))
    print(f"{len(files)} files in {args.output}")
    return 0


def _run_suggest(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from bench.files import atomic_write_json
    from dr2.analysis.suggest import suggest_for_folders

    found = suggest_for_folders(
        args.input,
        args.reference,
        _ints(args.lowpass),
        args.size,
        args.respacing,
        args.threshold,
        args.limit,
    )
    choice = found.suggestion
    print(f"{found.lq_count} degraded faces against {found.reference_count} reference faces")
    print("\n".join(choice.reasoning))
    print(f"suggested: N={choice.N} tau={choice.tau} omega={choice.omega}")
    if args.output:
        atomic_write_json(args.output, json.loads(json.dumps(asdict(found))))
        print(f"written to {args.output}")
    return 0


def _run_sweep(args: argparse.Namespace) -> int:
    from dr2.analysis.sweep import SweepSpec, run_sweep, write_sweep_config

    spec = SweepSpec(
        input=args.input,
        output=args.output,
        factors=_ints(args.factors),
        taus=_ints(args.taus),
        restorer=args.restorer,
        params=parse_settings(args.set),
        baselines=_names(args.baselines),
        chains=_names(args.chains),
        severities=_ints(args.severities),
        metrics=_names(args.metrics),
        seed=args.seed,
        limit=args.limit,
        batch_size=args.batch_size,
        device=args.device,
    )
    if args.config_only:
        print(f"config written and checked: {write_sweep_config(spec)}")
        return 0
    summary = run_sweep(spec, args.executor, resume=args.resume, progress=not args.quiet)
    print(f"{summary.rows} rows in {summary.run_dir / 'records.parquet'}")
    if args.report:
        from reports.build import build_report

        files = build_report(summary.run_dir, None)
        print(f"report: {len(files.files)} files in {files.folder}")
    return 1 if summary.failed else 0
