"""Fixtures shared by the server's test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module: tables get unique names, so tests share it."""
    running = Server(tmp_path_factory.mktemp("shared") / "data").start()
    yield running
    assert running.stop() == 0
