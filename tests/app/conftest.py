"""Fixtures of the dashboard tests: the trained fixture artifacts folder and empty ones.

The helpers that build them live in dashboard_fixture.py, importable from the tests themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard_fixture import build_fixture_artifacts, chart_specs


@pytest.fixture(scope="session")
def fixture_artifacts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("artifacts")
    build_fixture_artifacts(root)
    return root


@pytest.fixture()
def artifacts_env(fixture_artifacts, monkeypatch) -> Path:
    monkeypatch.setenv("MRDIB_ARTIFACTS", str(fixture_artifacts))
    return fixture_artifacts


@pytest.fixture()
def empty_artifacts(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MRDIB_ARTIFACTS", str(tmp_path))
    return tmp_path


@pytest.fixture()
def charts():
    """Decodes the plotly charts an AppTest page drew: `charts(app)` -> list of figure dicts."""
    return chart_specs
