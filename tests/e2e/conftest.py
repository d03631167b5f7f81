"""Fixtures for end-to-end tests: a Deployment with its own redis-server, stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Deployment


@pytest.fixture
def deployment(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    dep = Deployment(tmp_path)
    dep.start_redis()
    yield dep
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print(dep.logs())
    dep.stop_all()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
