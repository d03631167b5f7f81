"""`mediacourier doctor` says which metadata reader a worker here has: ExifTool, or the
exifread fallback (a failure when a library lays files out by date)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from shared.config import Settings, build_settings
from shared.media import metadata
from workers.report import doctor_checks, run_doctor

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None and not os.environ.get("CI"),
                                reason="ExifTool is not installed (./dev test installs it)")


def _settings(tmp_path: Path, layout: str) -> Settings:
    for name in ("cam", "lib"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
    raw = {"sources": {"cam": {"path": "cam", "library": "lib"}},
           "libraries": {"lib": {"path": "lib", "layout": layout}}}
    return build_settings(raw, None, tmp_path)


def _doctor(settings: Settings) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_doctor(doctor_checks(settings, lambda: "ok"), Console(file=out, width=300))
    return code, [line for line in out.getvalue().splitlines() if "metadata" in line]


def test_doctor_names_exiftool_when_it_is_there(tmp_path: Path) -> None:
    # Given a date layout and ExifTool installed, When doctor runs, Then its line is ok
    code, lines = _doctor(_settings(tmp_path, "date"))
    assert code == 0
    assert lines == ["ok    metadata: ExifTool reads capture dates, Live Photo and burst "
                     "identifiers and XMP"]


def test_doctor_fails_without_exiftool_for_a_date_layout_and_notes_it_otherwise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a machine without ExifTool (none to be found)
    monkeypatch.setattr(metadata, "shared_exiftool", lambda: None)
    # When doctor runs for a library laid out by date, Then one FAIL line says what to install
    code, lines = _doctor(_settings(tmp_path / "a", "date"))
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("FAIL  metadata: ExifTool is not installed")
    assert "libimage-exiftool-perl" in lines[0] and lines[0].endswith("laid out by date: lib")
    # When it runs for a library that keeps the source's folders, Then it is only a note
    code, lines = _doctor(_settings(tmp_path / "b", "keep"))
    assert code == 0 and lines[0].startswith("ok    metadata: ExifTool is not installed")


def _compress_flow_settings(tmp_path: Path) -> Settings:
    for name in ("cam", "lib", "inbox", "small"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
    raw = {"sources": {"cam": {"path": "cam", "library": "lib"}},
           "libraries": {"lib": {"path": "lib", "layout": "keep"}},
           "flows": {"shrink": {"from": "inbox",
                                "steps": [{"kind": "compress", "to": "small"}]}}}
    return build_settings(raw, None, tmp_path)


def _ffmpeg_lines(settings: Settings) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_doctor(doctor_checks(settings, lambda: "ok"), Console(file=out, width=300))
    return code, [line for line in out.getvalue().splitlines() if "ffmpeg:" in line]


def test_a_compressing_flow_makes_doctor_check_ffmpeg(tmp_path: Path) -> None:
    # Given a flow with a compress step and ffmpeg installed (./dev installs it)
    settings = _compress_flow_settings(tmp_path)
    # When doctor runs, Then its ffmpeg line names the version and where the tools are
    code, lines = _ffmpeg_lines(settings)
    assert code == 0
    assert len(lines) == 1 and lines[0].startswith("ok    ffmpeg: ffmpeg ")
    assert shutil.which("ffprobe") in lines[0]


def test_doctor_fails_naming_ffmpeg_when_a_compressing_flow_cannot_run_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a compressing flow on a machine whose PATH has no ffmpeg
    settings = _compress_flow_settings(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    # When doctor runs, Then it fails with one line naming the package
    code, lines = _ffmpeg_lines(settings)
    assert code == 1
    assert lines == ["FAIL  ffmpeg: ffmpeg is not installed (Debian package ffmpeg): "
                     "videos cannot be compressed"]


def test_doctor_has_no_ffmpeg_line_without_a_compressing_flow(tmp_path: Path) -> None:
    # Given no flow, When doctor runs, Then it does not ask for ffmpeg
    assert _ffmpeg_lines(_settings(tmp_path, "date"))[1] == []
