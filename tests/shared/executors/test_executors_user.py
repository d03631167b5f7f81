"""LocalExecutor runs a command as another user when asked (the tests run as root)."""

from __future__ import annotations

from shared.executors.base import LocalExecutor


def test_local_executor_runs_as_the_given_user() -> None:
    assert LocalExecutor().run(("id", "-un"), 5, user="nobody").stdout.strip() == "nobody"
    assert LocalExecutor().run(("id", "-un"), 5).stdout.strip() == "root"


def test_local_executor_unknown_user_is_a_failed_result() -> None:
    result = LocalExecutor().run(("id",), 5, user="no-such-user-here")
    assert result.exit_code == -1 and "no user 'no-such-user-here'" in result.stderr
