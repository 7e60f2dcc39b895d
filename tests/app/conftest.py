"""Fixtures of the dashboard tests: the trained fixture artifacts folder and empty ones.

The helpers live in dashboard_fixture.py: pytest imports every conftest.py as the module
`conftest`, so tests that `from testing_support import ...` must keep finding tests/conftest.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dashboard_fixture import build_fixture_artifacts, chart_specs

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def pytest_plugin_registered(plugin, manager):
    """Once this file is registered, point `conftest` back at tests/conftest.py (see the docstring)."""
    if getattr(plugin, "__file__", None) != __file__:
        return
    for other in manager.get_plugins():
        if getattr(other, "__file__", None) == str(ROOT_CONFTEST):
            sys.modules["conftest"] = other


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
