"""Where network namespaces cannot be made, the multi-host tests fail loudly, or skip only when
MEDIACOURIER_ALLOW_NO_NETNS=1 says so."""

from __future__ import annotations

import os

import pytest

from tests.e2e.netns import ALLOW_ENV, require_netns


def test_without_root_the_multi_host_tests_fail_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a process without root
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    # Then the test fails, naming the reason and the way out
    with pytest.raises(pytest.fail.Exception, match="not running as root.*"
                       f"set {ALLOW_ENV}=1 to skip"):
        require_netns()
    # … and skips only when the machine's owner said so
    monkeypatch.setenv(ALLOW_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match="cannot create network namespaces here"):
        require_netns()
