"""The ``dr2bench`` command line.

Each command lives in its own module under :mod:`bench.commands` with two functions,
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import nothing heavy at the
top, so ``dr2bench --help`` and ``dr2bench list`` stay fast and never import torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from bench import __version__
from bench.files import StorageError

# name -> (module, one-line description shown by `dr2bench --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("bench.commands.list_plugins", "list registered plugins with version and description"),
    "run": ("bench.commands.run", "run a benchmark grid from a YAML config (cached, resumable)"),
    "restore": ("bench.commands.restore", "run one restorer over a folder of images, writing PNGs"),
    "weights": (
        "bench.commands.weights",
        "list the weights files and where they are; verify hashes",
    ),
    "degrade": ("bench.commands.degrade", "build a synthetic paired test set (or replay one)"),
    "report": ("bench.commands.report", "tables, statistics, figures and an HTML report of a run"),
    "compare": ("bench.commands.compare", "compare runs: paired differences, tests, what differs"),
    "analyze": ("bench.commands.analyze", "DR2 invariance under diffusion, N/tau/omega, sweeps"),
    "train-ddpm": ("bench.commands.train_ddpm", "train a small diffusion model (DR2's demo model)"),
    "score": (
        "bench.commands.score",
        "score a folder of outputs: PSNR, SSIM, LPIPS, FID/KID, identity, NIQE",
    ),
    "protocols": (
        "bench.commands.protocols",
        "the published evaluation protocols (metrics, references, tables) dr2bench reproduces",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (``--help`` imports none)."""
    parser = argparse.ArgumentParser(
        prog="dr2bench",
        description="Benchmark and evaluation harness for blind face restoration.",
    )
    parser.add_argument("--version", action="version", version=f"dr2bench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(main=module.main)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (the first argument that is not an option)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that are the user's to fix: printed as one line, never as a traceback."""
    from bench.config import ConfigError
    from bench.contracts import Unavailable
    from bench.datasets import DatasetError
    from bench.images import ImageError
    from bench.registry import RegistryError
    from bench.run.folder import RunFolderError
    from bench.run.journal import RunLockedError
    from bench.run.runner import ConfigChangedError
    from reports.results import ReportError

    return (
        ConfigError,
        DatasetError,
        ImageError,
        RegistryError,
        ReportError,
        RunFolderError,
        RunLockedError,
        ConfigChangedError,
        Unavailable,
        FileNotFoundError,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dr2bench`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_command(argv)).parse_args(argv)
    try:
        return int(args.main(args) or 0)
    except user_errors() as exc:
        print(f"dr2bench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(
            f"dr2bench {args.command}: error: {exc.strerror}. Results written so far are intact; "
            "free space or fix the folder's permissions, then run the same command again.",
            file=sys.stderr,
        )
        return 3
    except BrokenPipeError:  # output piped to `head`, which has read enough: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0
    except OSError as exc:
        if exc.filename is None:  # not about a file: a bug to report, with its traceback
            raise
        print(
            f"dr2bench {args.command}: error: cannot use {exc.filename}: "
            f"{exc.strerror or exc}. Results written so far are intact; choose a writable "
            "folder (--out, --output, DR2BENCH_HOME) or fix its permissions.",
            file=sys.stderr,
        )
        return 3
    except KeyboardInterrupt:
        print(f"dr2bench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
