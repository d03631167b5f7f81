"""Layout tokens, the presets named after the apps, the library's time zone and day start, and
where a file with no date goes."""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import ConfigError
from shared.media.dates import DateSource
from shared.media.layout import (
    LAYOUT_ALIASES,
    LayoutOptions,
    check_layout_options,
    layout_path,
    library_rel_path,
    path_safe,
    validate_layout,
)
from shared.media.metadata import Metadata

CDT = dt.timezone(dt.timedelta(hours=-5))
SHA = "3f2a9c1b" + "0" * 56
# The corpus's Live Photo still: 2021-04-11 15:47:53 at -05:00 (20:47:53 UTC)
STILL = Metadata(taken=dt.datetime(2021, 4, 11, 15, 47, 53, 54000, tzinfo=CDT),
                 date_source=DateSource.DATE_TIME_ORIGINAL, make="Apple",
                 model="iPhone 11 Pro Max", media_group="570F1469")
CHICAGO = LayoutOptions(timezone="America/Chicago")


def place(layout: str, meta: Metadata | None = STILL, options: LayoutOptions = CHICAGO,
          rel: str = "DCIM/IMG_5195.HEIC", **kwargs: str) -> str:
    return layout_path(layout, rel, "phone", meta, options, sha256=SHA, **kwargs)


def test_every_token() -> None:
    # Given a template with every token, in UTC
    layout = ("{year}/{month}/{day}/{hour}{minute}{second}/{month_name}-{month_abbr}-W{week}/"
              "{make}/{model}/{type}/{original_name}/{set}/{hash8}/{source}/{rel_dir}/{stem}.{ext}")
    # When the Live Photo still is placed / Then each token has its value
    assert place(layout, options=LayoutOptions(timezone="UTC")) == (
        "2021/04/11/204753/April-Apr-W14/Apple/iPhone 11 Pro Max/IMG/IMG_5195.HEIC/IMG_5195/"
        "3f2a9c1b/phone/DCIM/IMG_5195.HEIC")


@pytest.mark.parametrize(("preset", "expected"), [
    ("keep", "DCIM/IMG_5195.HEIC"),
    ("date", "2021/04/IMG_5195.HEIC"),
    ("date-day", "2021/2021-04-11/IMG_5195.HEIC"),
    ("immich", "2021/2021-04-11/IMG_5195.HEIC"),
    ("photoprism", "2021/04/20210411_154753_3f2a9c1b.HEIC"),
    ("phockup", "2021/04/11/20210411-154753.HEIC"),
    ("sortphotos", "2021/04-Apr/IMG_5195.HEIC"),
])
def test_each_preset(preset: str, expected: str) -> None:
    validate_layout(preset, "libraries.x.layout")
    assert place(preset) == expected


def test_every_preset_is_tested() -> None:
    tested = {"keep", "date", "date-day", "immich", "photoprism", "phockup", "sortphotos"}
    assert set(LAYOUT_ALIASES) == tested


def test_a_video_typed_vid_and_the_still_s_set_stem() -> None:
    # Given a Live Photo video whose still landed as 'IMG_5195 (2).HEIC' (a collision)
    video = Metadata(taken=dt.datetime(2021, 4, 11, 20, 47, 53, tzinfo=dt.UTC),
                     date_source=DateSource.QUICKTIME_CREATE_DATE, kind="VID")
    # When the video is placed with the set's stem / Then it takes that stem, its own extension
    assert place("{year}/{type}/{name}", video, rel="DCIM/IMG_5195.MOV",
                 set_stem="IMG_5195 (2)") == "2021/VID/IMG_5195 (2).MOV"
    assert place("{set}-{stem}.{ext}", video, rel="IMG_5195.MOV",
                 set_stem="IMG_5195 (2)") == "IMG_5195 (2)-IMG_5195 (2).MOV"


@pytest.mark.parametrize(("zone", "expected"), [
    ("UTC", "2020/12/31/23"), ("Europe/Berlin", "2021/01/01/00"),
    ("America/New_York", "2020/12/31/18"), ("Asia/Kolkata", "2021/01/01/05"),
])
def test_timezone_of_an_aware_date(zone: str, expected: str) -> None:
    # Given a video recorded at 23:30 UTC on New Year's Eve
    video = Metadata(taken=dt.datetime(2020, 12, 31, 23, 30, tzinfo=dt.UTC),
                     date_source=DateSource.QUICKTIME_CREATE_DATE)
    # When placed in a library with that zone / Then its folders follow that zone's clock
    assert place("{year}/{month}/{day}/{hour}/{name}", video, LayoutOptions(timezone=zone),
                 rel="v.mp4") == f"{expected}/v.mp4"


def test_a_camera_wall_clock_is_kept_in_every_zone() -> None:
    # Given EXIF with no offset: the camera's own clock, zone unknown
    photo = Metadata(taken=dt.datetime(2020, 12, 31, 23, 30), date_source=DateSource.CREATE_DATE)
    # When placed in libraries of different zones / Then the day is the camera's in all
    for zone in ("UTC", "Europe/Berlin", "Pacific/Auckland", "local"):
        assert place("date-day", photo, LayoutOptions(timezone=zone), rel="a.jpg") == (
            "2020/2020-12-31/a.jpg")


def test_local_timezone_is_the_machine_s(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a worker in Tokyo and a UTC instant of New Year's Eve
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        video = Metadata(taken=dt.datetime(2020, 12, 31, 20, 0, tzinfo=dt.UTC),
                         date_source=DateSource.QUICKTIME_CREATE_DATE)
        # When placed with timezone = "local" / Then it is 05:00 on 1 January there
        assert place("{year}/{day}-{hour}/{name}", video, LayoutOptions(), rel="v.mp4") == (
            "2021/01-05/v.mp4")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize(("clock", "day_start", "expected"), [
    (dt.datetime(2022, 1, 1, 1, 30), "04:00", "2021/12/31/0130"),  # the party is the 31st's
    (dt.datetime(2022, 1, 1, 3, 59), "04:00", "2021/12/31/0359"),
    (dt.datetime(2022, 1, 1, 4, 0), "04:00", "2022/01/01/0400"),
    (dt.datetime(2022, 1, 1, 1, 30), "00:00", "2022/01/01/0130"),
    (dt.datetime(2024, 3, 1, 0, 15), "0:30", "2024/02/29/0015"),  # a leap day
])
def test_day_starts_at(clock: dt.datetime, day_start: str, expected: str) -> None:
    photo = Metadata(taken=clock, date_source=DateSource.DATE_TIME_ORIGINAL)
    options = LayoutOptions(day_starts_at=day_start)
    assert place("{year}/{month}/{day}/{hour}{minute}/{name}", photo, options, rel="a.jpg") == (
        f"{expected}/a.jpg")


def test_day_start_after_the_zone_and_never_for_a_bare_day() -> None:
    # Given an instant of 02:30 in Berlin on 1 Jan (01:30 UTC), days starting at 04:00
    options = LayoutOptions(timezone="Europe/Berlin", day_starts_at="04:00")
    video = Metadata(taken=dt.datetime(2022, 1, 1, 1, 30, tzinfo=dt.UTC),
                     date_source=DateSource.QUICKTIME_CREATE_DATE)
    assert place("date-day", video, options, rel="v.mp4") == "2021/2021-12-31/v.mp4"
    # And a WhatsApp day (no time) stays on its day
    whatsapp = Metadata(taken=dt.datetime(2022, 1, 1), date_source=DateSource.FILE_NAME,
                        has_time=False)
    assert place("date-day", whatsapp, options, rel="IMG-20220101-WA0001.jpg") == (
        "2022/2022-01-01/IMG-20220101-WA0001.jpg")


def test_undated_files_go_to_the_unknown_folder() -> None:
    # Given a file whose only date is its mtime
    undated = Metadata(taken=dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC),
                       date_source=DateSource.MTIME)
    # When placed by a date layout / Then it goes to unknown/, not to the day it was copied
    assert place("date", undated, rel="DCIM/x.jpg") == "unknown/x.jpg"
    assert place("photoprism", undated, rel="DCIM/x.jpg") == "unknown/x.jpg"
    assert place("date", undated, LayoutOptions(unknown_folder="Undated/no date/"),
                 rel="x.jpg") == "Undated/no date/x.jpg"
    # And with undated = "mtime" the mtime stands in, as before
    assert place("date", undated, LayoutOptions(undated="mtime", timezone="UTC"),
                 rel="x.jpg") == "2026/12/x.jpg"
    # And a layout that needs no date does not care
    assert place("keep", undated, rel="DCIM/x.jpg") == "DCIM/x.jpg"
    assert place("date", None, rel="x.jpg") == "unknown/x.jpg"


def test_hash8_needs_the_hash() -> None:
    with pytest.raises(ValueError, match="hash8"):
        layout_path("photoprism", "a.jpg", "phone", STILL, CHICAGO)


def test_library_rel_path_keeps_working_with_a_day() -> None:
    assert library_rel_path("date", "DCIM/a.jpg", "phone", dt.date(2008, 5, 30)) == (
        "2008/05/a.jpg")
    assert library_rel_path("date", "DCIM/a.jpg", "phone", None) == "unknown/a.jpg"


@pytest.mark.parametrize(("value", "expected"), [
    ("Canon", "Canon"), ("  NIKON CORPORATION  ", "NIKON CORPORATION"),
    ("EOS 5D/Mark III", "EOS 5D-Mark III"), ("..", "unknown"), ("", "unknown"),
    ("a\x00b\nc\u202ed", "a b c d"), ('Cam:era*?"<>|\\', "Cam-era-------"),
    ("x" * 100, "x" * 64), (".hidden.", "hidden"),
])
def test_path_safe(value: str, expected: str) -> None:
    assert path_safe(value) == expected


@pytest.mark.parametrize(("layout", "message"), [
    ("{camera}/{name}", r"unknown placeholder \{camera\}.*photoprism"),
    ("{year}/{month}", r"must contain \{name\} or \{stem\} or \{original_name\}"),
])
def test_invalid_layouts(layout: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_layout(layout, "libraries.x.layout")


@pytest.mark.parametrize(("options", "message"), [
    (LayoutOptions(timezone="Europe/Berln"), r"\[libraries\.x\] timezone: unknown time zone"),
    (LayoutOptions(timezone="../../etc/passwd"), r"timezone: unknown time zone"),
    (LayoutOptions(day_starts_at="4am"), r"day_starts_at: '4am' is not a time of day"),
    (LayoutOptions(day_starts_at="24:00"), r"day_starts_at"),
    (LayoutOptions(unknown_folder="../elsewhere"), r"unknown_folder: .* inside the library"),
    (LayoutOptions(unknown_folder="/abs"), r"unknown_folder"),
    (LayoutOptions(undated="guess"), r"undated: 'guess' is not one of unknown, mtime"),
])
def test_bad_layout_options_name_their_key(options: LayoutOptions, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        check_layout_options(options, lambda key: f"[libraries.x] {key}")
    assert "\n" not in str(raised.value)


def _no_control(text: str) -> bool:
    return not any(unicodedata.category(char)[0] == "C" for char in text)


ALL_METADATA = "{year}/{week}/{make}/{model}/{original_name}/{set}/{month_name}/{type}.{ext}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(make=st.text(), model=st.text(), original=st.text(), set_stem=st.text(max_size=60),
       taken=st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 1, 1),
                          timezones=st.none() | st.timezones()),
       zone=st.sampled_from(["local", "UTC", "Europe/Berlin", "Pacific/Kiritimati"]),
       day_start=st.sampled_from(["00:00", "04:00", "23:59"]))
def test_paths_never_escape_the_library(make: str, model: str, original: str, set_stem: str,
                                        taken: dt.datetime, zone: str, day_start: str) -> None:
    # Given any metadata strings and any capture time
    meta = Metadata(taken=taken, date_source=DateSource.DATE_TIME_ORIGINAL, make=make,
                    model=model, original_name=original)
    # When placed by a template using every metadata token
    rel = layout_path(ALL_METADATA, "DCIM/IMG_1.jpg", "phone", meta,
                      LayoutOptions(timezone=zone, day_starts_at=day_start), set_stem=set_stem)
    # Then the path is relative, has no '..' and stays inside the library
    parts = rel.split("/")
    assert not rel.startswith("/") and ".." not in parts and "" not in parts
    library = "/library"
    assert os.path.normpath(posixpath.join(library, rel)).startswith(library + "/")
    # And the metadata tokens bring no control characters (the set's stem is a file's own)
    assert all(_no_control(part) for index, part in enumerate(parts) if index != 5)
    assert all(len(part.encode("utf-8", "surrogatepass")) <= 255 for part in parts)
