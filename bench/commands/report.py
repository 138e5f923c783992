"""``dr2bench report RUN_DIR [--format html,md,latex,csv] [--figure-formats pdf,svg]
[--baseline NAME] [--out DIR]``."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (from `dr2bench run`)")
    parser.add_argument(
        "--format",
        default="html,md,latex,csv",
        help="comma-separated outputs among html, md, latex, csv (default: all)",
    )
    parser.add_argument(
        "--figure-formats",
        default="",
        help="comma-separated copies of every figure beside its PNG, among pdf, svg "
        "(default: none)",
    )
    parser.add_argument(
        "--baseline",
        default=None,
        help="restorer of the relative robustness (= 1.0) and first row of the tables "
        "(default: the config's baseline, else identity when in the run)",
    )
    parser.add_argument("--out", default=None, help="report folder (default: RUN_DIR/report)")


def main(args: argparse.Namespace) -> int:
    from reports.build import build_report, parse_formats

    files = build_report(  # a RunFolderError or ReportError: one line from bench.cli, status 2
        args.run_dir,
        args.out,
        formats=parse_formats(args.format),
        baseline=args.baseline,
        figure_formats=tuple(args.figure_formats.split(",")) if args.figure_formats else (),
    )
    print(f"report: {len(files.files)} files in {files.folder}")
    if files.html is not None:
        print(files.html)
    return 0
