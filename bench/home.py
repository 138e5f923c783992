"""Where dr2bench keeps runtime data: ``$DR2BENCH_HOME`` (default ``~/.cache/dr2bench``).

Weights live in ``weights/`` and caches (reference statistics, features) in ``cache/`` below it;
nothing is ever written inside the installed package.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The dr2bench home folder (not created)."""
    configured = os.environ.get("DR2BENCH_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "dr2bench"


def weights_dir() -> Path:
    """Folder searched for checkpoints and network weights."""
    return home() / "weights"


def cache_dir() -> Path:
    """Folder for caches that can be deleted at any time."""
    return home() / "cache"
