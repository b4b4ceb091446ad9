"""Shared test setup: the helper modules in tests/ (``gradcheck``, ``browser``, ``lab_server``)
importable, and fresh layer names for every test."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from graphkit.layers.layer import clear_session  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_names():
    """Every test starts with fresh layer names (``dense``, not ``dense_7``), as in a new kernel."""
    clear_session()
    yield
    clear_session()
