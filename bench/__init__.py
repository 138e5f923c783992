"""dr2bench core: registry, contracts, config, datasets, runner, weights and CLI."""

from __future__ import annotations

import importlib.metadata

try:
    __version__ = importlib.metadata.version("dr2bench")
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"
