"""The robocopy summary and error parser on real published outputs (tests/data/robocopy,
origins in SOURCES.md) and on the few constructed ones that fill the gaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.robocopy.parse import (
    Counts,
    Times,
    parse_duration,
    parse_output,
    parse_size,
)

DATA = Path(__file__).parents[2] / "data" / "robocopy"
K, M, G = 1024, 1024**2, 1024**3


def parsed(name: str):
    return parse_output((DATA / name).read_text(encoding="utf-8"))


def test_every_fixture_has_a_documented_origin() -> None:
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    fixtures = sorted(p.name for p in DATA.glob("*.txt"))
    assert len(fixtures) >= 10
    for name in fixtures:
        assert f"`{name}`" in sources, f"{name} has no origin in SOURCES.md"


def test_english_copy_to_unc_with_gigabytes() -> None:
    # Given a real English run that copied 7 ISO files to \\TT-HV05B\C$
    out = parsed("en_copy_to_unc_gigabytes.txt")
    # Then every row is read by position, units converted with binary multiples
    s = out.summary
    assert s.dirs == Counts(3, 3, 0, 0, 0, 0)
    assert s.files == Counts(7, 7, 0, 0, 0, 0)
    assert s.bytes == Counts(round(17.473 * G), round(17.473 * G), 0, 0, 0, 0)
    assert s.times == Times(81.0, 81.0, 0.0, 0.0)
    assert s.speed_bytes_per_second == 231122057
    assert s.bytes_exact is False
    assert out.file_errors == ()


def test_job_header_files_line_is_not_a_summary_row() -> None:
    # Given output whose header says "Files : ntds.dit" and whose file lines use tabs
    s = parsed("en_single_file_tabs.txt").summary
    # Then only the closing table counts
    assert s.files == Counts(1, 1, 0, 0, 0, 0)
    assert s.dirs == Counts(1, 0, 1, 0, 0, 0)
    assert s.bytes == Counts(16 * M, 16 * M, 0, 0, 0, 0)
    assert s.speed_bytes_per_second == 118987347


def test_kilobytes_with_progress_lines() -> None:
    s = parsed("en_databox_kilobytes_abridged.txt").summary
    assert s.files == Counts(17, 17, 0, 0, 0, 0)
    assert s.dirs == Counts(1, 1, 1, 0, 0, 0)
    assert s.bytes.copied == round(3.9 * K) == 3994
    assert s.times == Times(5.0, 0.0, 0.0, 0.0)
    assert s.speed_bytes_per_second == 5620


def test_list_only_run_from_unc_source() -> None:
    s = parsed("en_list_only_from_unc.txt").summary
    assert s.dirs == Counts(5, 0, 5, 0, 0, 0)
    assert s.files == Counts(91, 0, 91, 0, 0, 0)
    assert s.bytes == Counts(round(102.685 * G), 0, round(102.685 * G), 0, 0, 0)
    assert s.speed_bytes_per_second is None  # /L prints no Speed rows here


def test_mirror_dry_run_with_only_a_files_row() -> None:
    out = parsed("en_mirror_list_only_extra.txt")
    assert out.summary.files == Counts(2, 0, 2, 0, 0, 1)
    assert out.summary.dirs is None and out.summary.bytes is None
    assert out.summary.bytes_exact is False


def test_summary_behind_a_logger_prefix_with_a_failed_file() -> None:
    # Given a summary copied from a build log: "12:56:51   Info     |       Dirs : ..."
    s = parsed("en_failed_exit11_logger_prefix.txt").summary
    # Then the timestamp's colons do not confuse the label, FAILED and Extras are read
    assert s.dirs == Counts(41, 0, 41, 0, 0, 0)
    assert s.files == Counts(74, 59, 14, 0, 1, 1)
    assert s.bytes == Counts(round(22.13 * M), round(8.92 * M), round(12.66 * M), 0,
                             round(562.0 * K), round(7.0 * K))
    assert s.times == Times(40.0, 23.0, 0.0, 17.0)
    assert s.speed_bytes_per_second == 396600


def test_german_labels_and_run_together_header() -> None:
    # Given German output ("Verzeich.:", "Dateien:", "Zeiten:", header "KopiertÜbersprungen...")
    s = parsed("de_mirror_gigabytes.txt").summary
    assert s.dirs == Counts(25, 24, 1, 0, 0, 0)
    assert s.files == Counts(889, 889, 0, 0, 0, 0)
    assert s.bytes == Counts(round(45.476 * G), round(45.476 * G), 0, 0, 0, 0)
    assert s.times == Times(21.0, 20.0, 0.0, 0.0)
    assert s.speed_bytes_per_second == 2354175723


def test_german_unaligned_columns_with_extras_and_no_times() -> None:
    s = parsed("de_mirror_extras_abridged.txt").summary
    assert s.dirs == Counts(746, 475, 271, 0, 0, 799)
    assert s.files == Counts(3630, 3630, 0, 0, 0, 3443)
    assert s.bytes == Counts(round(16.27 * M), round(16.27 * M), 0, 0, 0, round(13.12 * M))
    assert s.times is None
    assert s.speed_bytes_per_second == 3396273


def test_run_stopped_before_its_summary_still_lists_the_error() -> None:
    out = parsed("en_access_denied_no_summary.txt")
    assert out.summary is None
    [error] = out.file_errors
    assert error.path == r"C:\Users\Administrator\Desktop\root.txt"
    assert (error.code, error.action, error.message) == (5, "Copying File", "Access is denied.")
    assert error.attempts == 1 and not error.gave_up


def test_fatal_start_up_error_has_no_summary_and_no_file_errors() -> None:
    out = parsed("en_fatal_backup_rights.txt")
    assert out.summary is None and out.file_errors == ()


def test_bytes_run_with_retries_and_a_given_up_file() -> None:
    # Given a /BYTES mirror (constructed) where one file was locked twice and then copied,
    # and another was denied four times and given up
    out = parsed("constructed_en_bytes_mirror_errors.txt")
    s = out.summary
    assert s.bytes_exact is True
    assert s.bytes == Counts(38797312, 15109248, 22639616, 0, 1048448, 1048576)
    assert s.files == Counts(12, 4, 7, 0, 1, 1)
    assert s.times == Times(29.0, 1.0, 25.0, 0.0)
    locked, denied = out.file_errors
    assert (locked.code, locked.attempts, locked.gave_up) == (32, 2, False)
    assert denied.path == r"D:\Photos\2026\11\private\IMG_0003.JPG"
    assert (denied.code, denied.attempts, denied.gave_up) == (5, 4, True)
    assert out.updated_files == 1  # the "Newer" line


def test_decimal_comma_and_unknown_labels_fall_back_to_order() -> None:
    # Given a constructed French-style table with decimal commas
    s = parsed("constructed_fr_summary_decimal_comma.txt").summary
    assert s.dirs == Counts(14, 2, 12, 0, 0, 0)
    assert s.files == Counts(812, 37, 775, 0, 0, 3)
    assert s.bytes == Counts(round(3.512 * G), round(157.4 * M), round(3.358 * G), 0, 0,
                             round(12.5 * K))
    assert s.times == Times(130.0, 118.0, 0.0, 12.0)


def test_last_summary_wins_in_an_appended_log() -> None:
    # Given two runs appended to one log (/UNILOG+), the older one first
    first = (DATA / "en_list_only_from_unc.txt").read_text(encoding="utf-8")
    second = (DATA / "en_copy_to_unc_gigabytes.txt").read_text(encoding="utf-8")
    # Then the report is the latest run's
    assert parse_output(first + second).summary.files == Counts(7, 7, 0, 0, 0, 0)
    assert parse_output(second + first).summary.files == Counts(91, 0, 91, 0, 0, 0)


def test_windows_line_endings() -> None:
    text = (DATA / "en_copy_to_unc_gigabytes.txt").read_text(encoding="utf-8")
    crlf = parse_output(text.replace("\n", "\r\n"))
    assert crlf.summary == parse_output(text).summary


@pytest.mark.parametrize(("value", "unit", "expected"), [
    ("0", "", 0), ("38797312", "", 38797312), ("1,310,720", "", 1310720),
    ("1.310.720", "", 1310720), ("17.473", "g", round(17.473 * G)),
    ("157,4", "m", round(157.4 * M)),
    ("3.9", "k", 3994), ("1.5", "t", round(1.5 * 1024**4)), ("12", "M", 12 * M),
])
def test_sizes(value: str, unit: str, expected: int) -> None:
    assert parse_size(value, unit) == expected


@pytest.mark.parametrize(("value", "seconds"), [
    ("0:00:00", 0.0), ("0:01:21", 81.0), ("1:02:03", 3723.0), ("0:16.914", 16.914),
])
def test_durations(value: str, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


def test_text_without_any_table() -> None:
    out = parse_output("   Files : *.*\n  Options : *.* /MIR\n   Speed : 5 Bytes/sec.\n")
    assert out.summary is None and out.file_errors == ()


def test_job_errors_are_kept_but_not_printf_templates() -> None:
    # Given a fatal start-up error after which robocopy dumped its message templates
    out = parsed("en_fatal_backup_rights.txt")
    assert out.job_errors == (
        "You do not have the Backup and Restore Files user rights.",
        "Robocopy ran out of memory, exiting.")


def test_old_five_column_table_and_old_times() -> None:
    # Given a table without the Extras column and the m:ss.fff times of older versions
    text = ("               Total    Copied   Skipped  Mismatch    FAILED\n"
            "    Dirs :        75         0        75         0         0\n"
            "   Files :       960        13       947         0         0\n"
            "   Bytes :    19.8 m   190.0 k    19.6 m         0         0\n"
            "   Times :  0:16.914  0:03.504            0:00.000  0:13.410\n")
    s = parse_output(text).summary
    assert s.files == Counts(960, 13, 947, 0, 0, 0)
    assert s.bytes == Counts(round(19.8 * M), round(190.0 * K), round(19.6 * M), 0, 0, 0)
    assert s.times == Times(16.914, 3.504, 0.0, 13.41)
