"""The exception every layer shares: a plugin that cannot run here.

Defined apart from :mod:`bench.contracts` (which exports it to plugin authors) so that the
weights lookup, which raises it for a missing file, does not depend on the contracts.
"""

from __future__ import annotations


class Unavailable(Exception):
    """A plugin cannot run here (for example, its weights are missing); the message says why."""
