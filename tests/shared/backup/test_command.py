"""Running the backup tools: full-precision times, both pipes drained, JSON lines heard as
they come, and a child that never outlives an interrupted caller."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from shared.backup.command import mtime_ns, run_tool
from shared.errors import BackupFailed


@pytest.mark.parametrize(("stamp", "expected"), [
    ("2024-03-01T10:00:00.123456789Z", 1709287200_123456789),
    ("2024-03-01T11:00:00.5+01:00", 1709287200_500000000),
    ("2024-03-01T10:00:00Z", 1709287200_000000000),
    ("not a time", 0),
])
def test_times_keep_their_nanoseconds(stamp: str, expected: int) -> None:
    # Given restic's or rclone's RFC 3339 time, When it is read, Then no digit is lost
    assert mtime_ns(stamp) == expected


def test_json_lines_are_heard_and_a_chatty_stderr_does_not_block(tmp_path: Path) -> None:
    # Given a child that writes 1 MB to stderr (more than a pipe holds) and JSON on stdout
    script = ("import sys\nsys.stderr.write('x' * 1_000_000 + '\\n')\n"
              "print('{\"message_type\": \"status\", \"files_done\": 1}')\nprint('plain')\n")
    heard: list[dict] = []
    # When it runs
    done = run_tool([sys.executable, "-c", script], os.environ, "test", heard.append,
                    timeout=60)
    # Then it finished, its JSON line was heard and both outputs are kept
    assert done.code == 0
    assert heard == [{"message_type": "status", "files_done": 1}]
    assert "plain" in done.stdout and len(done.stderr) > 1_000_000


def test_a_failure_is_one_line_with_the_tools_reason() -> None:
    script = "import sys\nsys.stderr.write('Fatal: wrong password or no key found\\n')\nsys.exit(1)"
    with pytest.raises(BackupFailed) as caught:
        run_tool([sys.executable, "-c", script], os.environ, "targets.vault (backup)")
    assert str(caught.value) == "targets.vault (backup): Fatal: wrong password or no key found"


def test_an_interrupted_caller_stops_the_child_with_sigint(tmp_path: Path) -> None:
    # Given a child that notes SIGINT in a file and would otherwise run for a minute
    marker = tmp_path / "got-sigint"
    script = (f"import signal, sys, time\n"
              f"def stop(*_):\n    open({str(marker)!r}, 'w').write('yes')\n    sys.exit(130)\n"
              "signal.signal(signal.SIGINT, stop)\n"
              "print('{\"started\": 1}', flush=True)\ntime.sleep(60)\n")

    main = threading.main_thread().ident
    assert main is not None

    class TimeLimit(Exception):
        """What Celery's soft time limit raises in the worker's main thread."""

    def time_limit(*_: object) -> None:
        raise TimeLimit

    def started(line: dict) -> None:  # the child runs: the time limit strikes now
        signal.pthread_kill(main, signal.SIGUSR1)

    previous = signal.signal(signal.SIGUSR1, time_limit)
    try:
        # When the caller is interrupted while the child runs
        with pytest.raises(TimeLimit):
            run_tool([sys.executable, "-c", script], os.environ, "test", started)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    # Then the child was stopped with SIGINT (restic's cue to remove its lock) and has ended
    assert marker.read_text() == "yes"
