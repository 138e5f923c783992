"""``dr2bench degrade``: build a synthetic paired test set, or replay one from its params.

    dr2bench degrade --input HQ_DIR --chain gfpgan [--severity S] --seed 0 --output OUT
    dr2bench degrade --replay OUT/params.jsonl --output OUT2

See :mod:`bench.testset` for the output folder and ``docs/degradations.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", type=Path, help="folder of clean faces (replay: the GT folder)")
    parser.add_argument("--chain", help="chain name (see `dr2bench list degradations`) or YAML")
    parser.add_argument(
        "--severity",
        type=int,
        default=None,
        help="1..5 on a ladder chain; 0 (the default there) for a chain of published ranges",
    )
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--output", type=Path, required=True, help="folder to write")
    parser.add_argument(
        "--dataset", help="dataset name in every image's seed (default: the input folder's name)"
    )
    parser.add_argument("--replay", type=Path, help="rebuild from this params.jsonl")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a previous output in --output"
    )


def main(args: argparse.Namespace) -> int:
    if args.replay is not None:
        return _replay(args)
    from bench.chains import load_chain
    from bench.config import ConfigError
    from bench.testset import build_test_set

    if args.input is None or args.chain is None:
        raise ConfigError("--input and --chain are required (or --replay PARAMS)")
    severity = args.severity
    if severity is None:
        levels = load_chain(args.chain).severities
        if levels != (0,):
            raise ConfigError(
                f"chain '{args.chain}' has a ladder: pass --severity "
                f"{'/'.join(str(level) for level in levels)}"
            )
        severity = 0
    manifest = build_test_set(
        args.input,
        args.output,
        args.chain,
        severity,
        args.seed,
        dataset=args.dataset,
        workers=args.workers,
        overwrite=args.overwrite,
    )
    chain = manifest["chain"]
    print(
        f"wrote {manifest['images']} pairs to {args.output} "
        f"(chain {chain['name']} v{chain['version']}, severity {severity}, seed {args.seed})"
    )
    _warn_sizes(manifest)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from bench.testset import replay_test_set

    manifest, mismatched = replay_test_set(
        args.replay,
        args.output,
        input_dir=args.input,
        chain=args.chain,
        workers=args.workers,
        overwrite=args.overwrite,
    )
    print(f"rebuilt {manifest['images']} LQ images in {args.output} from {args.replay}")
    if mismatched:
        shown = ", ".join(mismatched[:5]) + (" ..." if len(mismatched) > 5 else "")
        print(
            f"{len(mismatched)} LQ images differ from the hashes in the original manifest: {shown}",
            file=sys.stderr,
        )
        return 1
    return 0


def _warn_sizes(manifest: dict) -> None:
    others = {size: count for size, count in manifest["sizes"].items() if size != "512x512"}
    if others:
        listed = ", ".join(f"{count} at {size}" for size, count in others.items())
        print(
            f"note: chain parameters are defined for 512x512 faces; {listed} "
            "(applied unchanged; see the chain's 'sizes' note)",
            file=sys.stderr,
        )
