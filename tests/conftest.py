"""Fixtures over tests/helpers.py: the real sample data and a tiny pipeline config."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import SHARED, make_params, require


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: fails (not skips) under CI when it is missing."""
    return require(SHARED)


@pytest.fixture(scope="session")
def aistpp_root(shared_data) -> Path:
    return require(shared_data / "aistpp")


@pytest.fixture(scope="session")
def mtd_root(shared_data) -> Path:
    return require(shared_data / "musictodance")


@pytest.fixture
def tiny_params(tmp_path) -> dict:
    return make_params(tmp_path)
