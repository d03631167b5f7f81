"""Building the robocopy command line, and decoding its exit code."""

from __future__ import annotations

import subprocess

import pytest

from shared.errors import ConfigError
from shared.robocopy.command import RobocopyOptions, build_command, windows_path
from shared.robocopy.exit_codes import RobocopyExit


def test_default_mirror_command() -> None:
    argv = build_command(RobocopyOptions(r"D:\Photos", r"\\NAS\photo\Library"))
    assert argv == (
        "robocopy", r"D:\Photos", r"\\NAS\photo\Library", "/MIR", "/XO", "/R:3", "/W:5",
        "/MT:8", "/FFT", "/XJ", "/NP", "/BYTES",
        "/XF", "Thumbs.db", "desktop.ini", ".DS_Store", "/XD", "@eaDir")


def test_every_option_and_dry_run() -> None:
    options = RobocopyOptions(
        "Z:\\photos\\", r"\\NAS\my share\photos", retries=0, wait_seconds=1, threads=32,
        unicode_log=r"C:\logs\robocopy run.log", exclude_files=("*.tmp", "THUMBS.DB"),
        exclude_dirs=(".git",), dry_run=True, executable=r"C:\Windows\System32\robocopy.exe")
    argv = build_command(options)
    # Then paths keep spaces in one argument, the trailing backslash is dropped,
    # duplicates of the default exclusions (case-insensitive) are not repeated, /L comes last
    assert argv[:3] == (r"C:\Windows\System32\robocopy.exe", r"Z:\photos",
                        r"\\NAS\my share\photos")
    assert "/R:0" in argv and "/W:1" in argv and "/MT:32" in argv
    assert argv[argv.index("/TEE") - 1] == r"/UNILOG+:C:\logs\robocopy run.log"
    xf = argv[argv.index("/XF") + 1: argv.index("/XD")]
    assert xf == ("Thumbs.db", "desktop.ini", ".DS_Store", "*.tmp")
    assert argv[argv.index("/XD") + 1: -1] == ("@eaDir", ".git")
    assert argv[-1] == "/L"
    # And Windows quoting keeps the spaced path whole, with no backslash escaping a quote
    line = subprocess.list2cmdline(argv)
    assert '"\\\\NAS\\my share\\photos"' in line


def test_switches_can_be_turned_off() -> None:
    argv = build_command(RobocopyOptions(
        r"D:\a", r"E:\b", mirror=False, exclude_older=False, threads=None, fat_times=False,
        exclude_junctions=False, no_progress=False, sizes_in_bytes=False,
        default_exclusions=False))
    assert argv == ("robocopy", r"D:\a", r"E:\b", "/R:3", "/W:5")


@pytest.mark.parametrize(("value", "expected"), [
    (r"Z:\photos", r"Z:\photos"),
    ("Z:\\photos\\", r"Z:\photos"),
    ("Z:\\", "Z:\\"),
    (r"\\NAS\share\photos", r"\\NAS\share\photos"),
    ("\\\\NAS\\share\\", r"\\NAS\share"),
    ("//NAS/share/photos", r"\\NAS\share\photos"),
    (r"\\NAS\Photo Share\2024 Trip", r"\\NAS\Photo Share\2024 Trip"),
])
def test_windows_paths_are_accepted(value: str, expected: str) -> None:
    assert windows_path(value, "source") == expected


@pytest.mark.parametrize(("value", "reason"), [
    ("photos", "not an absolute Windows path"),
    (r"Z:photos", "not an absolute Windows path"),
    (r"\photos", "not an absolute Windows path"),
    ("/volume1/photo", "is a POSIX path"),
    ("", "an absolute Windows path is required"),
])
def test_bad_paths_name_the_option(value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        build_command(RobocopyOptions(r"D:\Photos", value))
    assert str(caught.value).startswith("destination")


def test_other_bad_options_are_named() -> None:
    with pytest.raises(ConfigError, match="threads = 129"):
        build_command(RobocopyOptions(r"D:\a", r"E:\b", threads=129))
    with pytest.raises(ConfigError, match="retries"):
        build_command(RobocopyOptions(r"D:\a", r"E:\b", retries=-1))
    with pytest.raises(ConfigError, match="unicode_log"):
        build_command(RobocopyOptions(r"D:\a", r"E:\b", unicode_log="logs/run.log"))
    with pytest.raises(ConfigError, match="same folder"):
        build_command(RobocopyOptions(r"D:\Photos", "d:\\photos\\"))
    with pytest.raises(ConfigError, match="exclude_files"):
        build_command(RobocopyOptions(r"D:\a", r"E:\b", exclude_files=(" ",)))


# -- exit codes ------------------------------------------------------------------------------

EXIT_TABLE = {
    0: ((), True), 1: (("copied",), True), 2: (("extras",), True),
    3: (("copied", "extras"), True), 4: (("mismatched",), True),
    5: (("copied", "mismatched"), True), 6: (("extras", "mismatched"), True),
    7: (("copied", "extras", "mismatched"), True), 8: (("failed",), False),
    9: (("copied", "failed"), False), 10: (("extras", "failed"), False),
    11: (("copied", "extras", "failed"), False),
    15: (("copied", "extras", "mismatched", "failed"), False),
    16: (("fatal",), False), 24: (("failed", "fatal"), False),
    31: (("copied", "extras", "mismatched", "failed", "fatal"), False),
}


@pytest.mark.parametrize("code", sorted(EXIT_TABLE))
def test_exit_code_bits(code: int) -> None:
    flags, ok = EXIT_TABLE[code]
    exit_ = RobocopyExit(code)
    assert exit_.flags == flags and exit_.ok is ok
    assert exit_.message.startswith(f"robocopy exit code {code}")
    assert "\n" not in exit_.message


def test_exit_messages_say_what_happened() -> None:
    assert "already agree" in RobocopyExit(0).message
    assert RobocopyExit(3).message == ("robocopy exit code 3 (ok): files copied; "
                                       "extra files or folders in the destination")
    eight = RobocopyExit(8).message
    assert "(failed)" in eight and "could not be copied" in eight
    assert "nothing was copied" in RobocopyExit(16).message


@pytest.mark.parametrize("code", [-1, 32, 255])
def test_codes_robocopy_never_returns_are_fatal(code: int) -> None:
    exit_ = RobocopyExit(code)
    assert not exit_.ok and exit_.fatal and exit_.flags == ("fatal",)
    assert "not a robocopy result" in exit_.message
