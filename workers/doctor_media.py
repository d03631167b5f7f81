"""`mediacourier doctor`'s lines for the media tools: the metadata reader (ExifTool, or the
exifread fallback), and ffmpeg when a flow has a compress step."""

from __future__ import annotations

from collections.abc import Callable

from shared.compress import video_tools
from shared.config import Settings
from shared.media import needs_metadata, reader_problem

Check = tuple[str, Callable[[], str]]


def media_checks(settings: Settings) -> list[Check]:
    checks: list[Check] = [("metadata", lambda: metadata_reader(settings))]
    if any(step.kind == "compress" for flow in settings.flows.values() for step in flow.steps):
        # Only then does a worker run ffmpeg; a machine without flows need not have it.
        checks.append(("ffmpeg", video_tools))
    return checks


def metadata_reader(settings: Settings) -> str:
    """ok with ExifTool; without it a failure when a library's layout uses dates (its videos,
    XMP dates and Live Photo ids would be missed), else a note."""
    problem = reader_problem()
    if problem is None:
        return "ExifTool reads capture dates, Live Photo and burst identifiers and XMP"
    dated = sorted(name for name, library in settings.libraries.items()
                   if needs_metadata(library.layout))
    if dated:
        raise RuntimeError(f"{problem}; laid out by date: {', '.join(dated)}")
    return f"{problem} (no library's layout uses dates or camera names)"
