"""The reliability tests' plugins (reliability_plugins.py), registered around every test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import reliability_plugins


@pytest.fixture(autouse=True)
def faulty_plugins():
    reliability_plugins.register()
    yield
    reliability_plugins.unregister()
