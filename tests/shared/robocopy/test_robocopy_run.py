"""run_robocopy and the mirror step, end to end through the real LocalExecutor: a stand-in
`robocopy` (a small script written here) records its arguments, replays a fixture's output
and exits with the code robocopy gave (or would give) for it."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from shared.errors import (
    CommandTimedOut,
    ConfigError,
    DestinationFull,
    PermanentError,
    RetryableError,
    RobocopyFatal,
    RobocopyFilesFailed,
    RobocopyFilesRefused,
    TargetUnreachable,
)
from shared.executors.base import LocalExecutor
from shared.robocopy.command import RobocopyOptions
from shared.robocopy.run import run_robocopy
from shared.robocopy.target import mirror_with_robocopy, parse_robocopy_target

DATA = Path(__file__).parents[2] / "data" / "robocopy"
SOURCE, DEST = r"D:\Photos", r"\\NAS\photo\Library"

STAND_IN = """#!{python}
import json, sys, time
from pathlib import Path
Path({argv_file!r}).write_text(json.dumps(sys.argv[1:]))
time.sleep({sleep})
sys.stdout.buffer.write(Path({fixture!r}).read_bytes())
sys.exit({code})
"""


class StandIn:
    """A fake robocopy executable in `folder` that replays one fixture."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "robocopy"
        self.argv_file = folder / "argv.json"

    def replay(self, fixture: str, code: int, sleep: float = 0) -> str:
        self.path.write_text(STAND_IN.format(
            python=sys.executable, argv_file=str(self.argv_file), sleep=sleep,
            fixture=str(DATA / fixture), code=code), encoding="utf-8")
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR)
        return str(self.path)

    @property
    def argv(self) -> list[str]:
        return json.loads(self.argv_file.read_text())


@pytest.fixture
def robocopy(tmp_path: Path) -> StandIn:
    return StandIn(tmp_path)


def options(executable: str, **kw: object) -> RobocopyOptions:
    return RobocopyOptions(SOURCE, DEST, executable=executable, **kw)  # type: ignore[arg-type]


def test_successful_copy_gives_a_report(robocopy: StandIn) -> None:
    # Given robocopy copies 7 files and exits 1
    exe = robocopy.replay("en_copy_to_unc_gigabytes.txt", 1)
    # When the wrapper runs it
    report = run_robocopy(options(exe), LocalExecutor(), timeout=30)
    # Then the report carries the decoded exit code, the summary and the real argv
    assert report.ok and report.exit.flags == ("copied",)
    assert report.summary.files.copied == 7
    assert report.message.startswith("robocopy exit code 1 (ok): files copied; files: 7 copied")
    assert robocopy.argv[:3] == [SOURCE, DEST, "/MIR"]
    assert "/L" not in robocopy.argv and not report.dry_run


def test_dry_run_passes_l_through(robocopy: StandIn) -> None:
    # Given a dry run whose (real) /L output lists 91 files it would skip
    exe = robocopy.replay("en_list_only_from_unc.txt", 0)
    report = run_robocopy(options(exe, dry_run=True), LocalExecutor(), timeout=30)
    # Then robocopy received /L and the report says nothing changed
    assert robocopy.argv[-1] == "/L"
    assert report.dry_run and report.summary.files.skipped == 91
    assert "dry run (/L): nothing changed" in report.message


def test_german_output_through_the_executor(robocopy: StandIn) -> None:
    exe = robocopy.replay("de_mirror_gigabytes.txt", 1)
    report = run_robocopy(options(exe), LocalExecutor(), timeout=30)
    assert report.summary.files.copied == 889 and report.summary.dirs.copied == 24


def test_given_up_files_for_lasting_reasons_are_permanent(robocopy: StandIn) -> None:
    # Given a mirror where one file was denied until robocopy gave up (exit 11 = 1+2+8)
    exe = robocopy.replay("constructed_en_bytes_mirror_errors.txt", 11)
    # When checked, the run raises a permanent error carrying the report
    with pytest.raises(RobocopyFilesRefused) as caught:
        run_robocopy(options(exe), LocalExecutor(), timeout=30)
    assert isinstance(caught.value, PermanentError)
    report = caught.value.report
    assert [f.path for f in report.failed_files] == [r"D:\Photos\2026\11\private\IMG_0003.JPG"]
    assert "error 5 on D:\\Photos\\2026\\11\\private\\IMG_0003.JPG: Access is denied." \
        in str(caught.value)
    # And unchecked, the same run returns its report
    unchecked = run_robocopy(options(exe), LocalExecutor(), timeout=30, check=False)
    assert unchecked.exit.flags == ("copied", "extras", "failed")
    assert unchecked.summary.files.failed == 1


def test_failed_files_without_reasons_are_retryable(robocopy: StandIn) -> None:
    # Given the real exit-11 summary that names no ERROR lines
    exe = robocopy.replay("en_failed_exit11_logger_prefix.txt", 11)
    with pytest.raises(RobocopyFilesFailed) as caught:
        run_robocopy(options(exe), LocalExecutor(), timeout=30)
    assert isinstance(caught.value, RetryableError)
    assert "files: 59 copied, 14 skipped, 1 failed, 1 extra of 74" in str(caught.value)


def test_unreachable_share_is_retryable(robocopy: StandIn) -> None:
    exe = robocopy.replay("constructed_en_fatal_network_path.txt", 16)
    with pytest.raises(TargetUnreachable, match="network path unreachable"):
        run_robocopy(options(exe), LocalExecutor(), timeout=30)


def test_full_destination_is_held_not_failed(robocopy: StandIn) -> None:
    exe = robocopy.replay("constructed_en_disk_full.txt", 9)
    with pytest.raises(DestinationFull, match="destination is full"):
        run_robocopy(options(exe), LocalExecutor(), timeout=30)


def test_fatal_start_up_error_is_permanent(robocopy: StandIn) -> None:
    exe = robocopy.replay("en_fatal_backup_rights.txt", 16)
    with pytest.raises(RobocopyFatal, match="exit code 16 .failed.: fatal error") as caught:
        run_robocopy(options(exe), LocalExecutor(), timeout=30)
    assert caught.value.report.summary is None
    assert "You do not have the Backup and Restore Files user rights." in str(caught.value)


def test_missing_executable_is_permanent(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-robocopy-here")
    with pytest.raises(RobocopyFatal, match="cannot run"):
        run_robocopy(options(missing), LocalExecutor(), timeout=30)


def test_a_run_past_its_time_limit_is_retryable(robocopy: StandIn) -> None:
    exe = robocopy.replay("en_copy_to_unc_gigabytes.txt", 1, sleep=30)
    with pytest.raises(CommandTimedOut, match="timed out after 0.5 s"):
        run_robocopy(options(exe), LocalExecutor(), timeout=0.5)


# -- the mirror step ---------------------------------------------------------------------------


def target(exe: str, **table: object):
    return parse_robocopy_target("winnas", {"kind": "robocopy", "root": DEST,
                                            "executable": exe, **table})


def test_mirror_reports_counts_and_keeps_going_past_bad_files(robocopy: StandIn) -> None:
    # Given a target with its own retry settings and a mirror excluding *.tmp and cache/
    exe = robocopy.replay("constructed_en_bytes_mirror_errors.txt", 11)
    summary = mirror_with_robocopy(SOURCE, target(exe, retries=2, wait=1, threads=4),
                                   LocalExecutor(), exclude=("*.tmp", "cache/"))
    # Then the counts are in the mirror summary's shape, the bad file is listed, not raised
    assert (summary.copied, summary.updated, summary.deleted, summary.skipped) == (3, 1, 1, 7)
    assert (summary.failed, summary.bytes, summary.seconds) == (1, 15109248, 29.0)
    assert [f.code for f in summary.failed_files] == [5]
    assert not summary.dry_run and summary.target == "winnas"
    argv = robocopy.argv
    assert argv[:4] == [SOURCE, DEST, "/MIR", "/XO"]
    assert {"/R:2", "/W:1", "/MT:4", "/FFT"} <= set(argv)
    assert argv[argv.index("/XF") + 1: argv.index("/XD")] == [
        "Thumbs.db", "desktop.ini", ".DS_Store", "*.tmp"]
    assert argv[argv.index("/XD") + 1:] == ["@eaDir", "cache"]


def test_mirror_dry_run_reports_what_would_be_deleted(robocopy: StandIn) -> None:
    exe = robocopy.replay("en_mirror_list_only_extra.txt", 2)
    summary = mirror_with_robocopy(SOURCE, target(exe), LocalExecutor(), dry_run=True)
    assert robocopy.argv[-1] == "/L"
    assert summary.dry_run and (summary.copied, summary.deleted, summary.skipped) == (0, 1, 2)


def test_mirror_without_a_summary_counts_the_errors(robocopy: StandIn) -> None:
    # Given a run cut short before its summary, with one file denied (exit 8)
    exe = robocopy.replay("en_access_denied_no_summary.txt", 8)
    summary = mirror_with_robocopy(SOURCE, target(exe), LocalExecutor())
    # Then the failure is still counted and named, and the message says why counts are missing
    assert summary.failed == 1 and summary.copied == 0
    assert summary.failed_files[0].path.endswith("root.txt")
    assert summary.message.endswith("no summary in the output")


def test_mirror_raises_when_the_run_could_not_happen(robocopy: StandIn) -> None:
    exe = robocopy.replay("constructed_en_fatal_network_path.txt", 16)
    with pytest.raises(TargetUnreachable):
        mirror_with_robocopy(SOURCE, target(exe), LocalExecutor())


def test_robocopy_target_config() -> None:
    parsed = parse_robocopy_target("win", {"kind": "robocopy", "root": "Z:\\photos\\",
                                           "log": r"C:\logs\mirror.log", "queue": "windows"})
    assert (parsed.root, parsed.log_file, parsed.queue) == (r"Z:\photos", r"C:\logs\mirror.log",
                                                           "windows")
    assert (parsed.retries, parsed.wait_seconds, parsed.threads) == (3, 5, 8)
    cases = [
        ({"root": "/volume1/photo"}, "targets.win.root = '/volume1/photo' is a POSIX path"),
        ({"root": "photos"}, "targets.win.root = 'photos' is not an absolute Windows path"),
        ({}, "targets.win.root is required"),
        ({"root": "Z:\\", "threads": 0}, "targets.win.threads = 0"),
        ({"root": "Z:\\", "host": "nas"}, "targets.win.host: unknown key"),
        ({"root": "Z:\\", "fft": "yes"}, "targets.win.fft"),
    ]
    for table, message in cases:
        with pytest.raises(ConfigError) as caught:
            parse_robocopy_target("win", table, where="mediacourier.toml")
        assert str(caught.value) == f"mediacourier.toml: {message}" or \
            str(caught.value).startswith(f"mediacourier.toml: {message}"), str(caught.value)



def test_readme_example_and_claims_match_the_code() -> None:
    import re
    import tomllib

    from shared.robocopy.command import DEFAULT_EXCLUDE_DIRS, DEFAULT_EXCLUDE_FILES
    from shared.robocopy.run import DISK_FULL_ERRORS, NETWORK_ERRORS

    readme = (Path(__file__).parents[3] / "docs" / "targets.md").read_text(encoding="utf-8")
    section = readme.split("## Robocopy targets on a Windows worker", 1)[1].split("\n## ", 1)[0]
    # Given the README's example target, When parsed, Then it is valid and means what it says
    block = re.search(r"```toml\n(.*?)```", section, re.S)[1]
    table = tomllib.loads(block)["targets"]["winnas"]
    parsed = parse_robocopy_target("winnas", table)
    assert parsed.root == r"\\NAS\photo\Library" and parsed.queue == "windows"
    assert parsed.timeout_seconds == 21600 and parsed.log_file.endswith("robocopy-winnas.log")
    for name in DEFAULT_EXCLUDE_FILES + DEFAULT_EXCLUDE_DIRS:
        assert name in section, name
    network_row = section.split("(network)")[0].rsplit("\n", 1)[-1]
    codes = {int(code) for code in re.findall(r"`(?:ERROR )?(\d+)`", network_row)}
    assert codes == {53, 64, 67, 121, 1231} and codes <= NETWORK_ERRORS
    assert "`ERROR 112`" in section and 112 in DISK_FULL_ERRORS


UNILOG_STAND_IN = """#!{python}
import sys
from pathlib import Path
text = Path({fixture!r}).read_text(encoding="utf-8") + {extra!r}
log = Path(next(a for a in sys.argv if a.startswith("/UNILOG+:"))[len("/UNILOG+:"):])
with log.open("ab") as handle:  # robocopy appends UTF-16 to the log ...
    handle.write(text.encode("utf-16-le"))
sys.stdout.buffer.write(text.encode("cp850"))  # ... and writes the OEM code page to a pipe
sys.exit(9)
"""


def test_unicode_log_is_read_instead_of_oem_console_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a log that already holds an older run (robocopy starts a new log with a BOM)
    monkeypatch.chdir(tmp_path)  # on Linux the Windows log path is a plain file name here
    log_name = r"C:\logs\mirror.log"
    older = (DATA / "en_list_only_from_unc.txt").read_text(encoding="utf-8")
    (tmp_path / log_name).write_bytes(b"\xff\xfe" + older.encode("utf-16-le"))
    # And a robocopy that appends this run to it, with a name outside ASCII in an error line
    error = ("2026/11/22 03:00:04 FEHLER 5 (0x00000005) Datei wird kopiert "
             "D:\\Fotos\\M\u00fcller\\IMG_1.JPG\nZugriff verweigert\n")
    exe = tmp_path / "robocopy"
    exe.write_text(UNILOG_STAND_IN.format(python=sys.executable, extra=error,
                                          fixture=str(DATA / "de_mirror_extras_abridged.txt")))
    exe.chmod(0o755)
    opts = options(str(exe), unicode_log=log_name)
    # When the log is read, Then the report is this run's (not the older one) with the right name
    report = run_robocopy(opts, LocalExecutor(), timeout=30, check=False, read_log=True)
    assert report.summary.files.extras == 3443
    assert report.failed_files[0].path == "D:\\Fotos\\M\u00fcller\\IMG_1.JPG"
    # And from the console output alone the numbers survive but the name does not
    console = run_robocopy(opts, LocalExecutor(), timeout=30, check=False, read_log=False)
    assert console.summary.files.extras == 3443
    assert console.failed_files[0].path != "D:\\Fotos\\M\u00fcller\\IMG_1.JPG"


def test_errors_cured_by_a_retry_are_not_failures() -> None:
    from shared.executors.base import CommandResult
    from shared.robocopy.run import report_from

    # Given output where a locked file was retried and copied, and another file given up
    text = (DATA / "constructed_en_bytes_mirror_errors.txt").read_text(encoding="utf-8")
    failed = report_from(CommandResult(("robocopy",), 11, text, "", 1.0), dry_run=False)
    # Then only the given-up file failed; with no failure bit in the exit code, none did
    assert [e.code for e in failed.file_errors] == [32, 5]
    assert [e.code for e in failed.failed_files] == [5]
    cured = report_from(CommandResult(("robocopy",), 1, text, "", 1.0), dry_run=False)
    assert cured.failed_files == () and "error" not in cured.message
