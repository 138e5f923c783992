"""Run every benchmark module in this folder: ``python -m benchmarks`` (what ``make bench`` runs).

A module's ``main`` is called with its ``SUITE_ARGV`` when it has one (``scale`` runs its
``--quick`` mode here), else with no arguments.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main() -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_")
    )
    for name in names:
        print(f"== benchmarks.{name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        argv = getattr(module, "SUITE_ARGV", None)
        module.main() if argv is None else module.main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
