"""Dates written in file names and in EXIF/XMP/QuickTime strings."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.media.dates import date_from_name, parse_exif_datetime

D = dt.datetime


@pytest.mark.parametrize(
    ("name", "expected", "has_time"),
    [
        ("IMG_20210411_154753.jpg", D(2021, 4, 11, 15, 47, 53), True),  # Android camera
        ("VID_20210411_154753.mp4", D(2021, 4, 11, 15, 47, 53), True),
        ("IMG_20210411_154753_HDR.jpg", D(2021, 4, 11, 15, 47, 53), True),
        ("PXL_20210411_204753123.jpg", D(2021, 4, 11, 20, 47, 53, tzinfo=dt.UTC), True),  # UTC
        ("PXL_20210411_204753123.MP.jpg", D(2021, 4, 11, 20, 47, 53, tzinfo=dt.UTC), True),
        ("Screenshot_20210411-154753.png", D(2021, 4, 11, 15, 47, 53), True),
        ("Screenshot_2021-04-11-15-47-53-123_com.android.chrome.jpg",
         D(2021, 4, 11, 15, 47, 53), True),
        ("Screenshot 2021-04-11 at 15.47.53.png", D(2021, 4, 11, 15, 47, 53), True),  # macOS
        ("Screen Recording 2021-04-11 at 9.05.01.mov", D(2021, 4, 11, 9, 5, 1), True),
        ("IMG-20210411-WA0001.jpg", D(2021, 4, 11), False),  # WhatsApp: a day, no time
        ("VID-20210411-WA0012.mp4", D(2021, 4, 11), False),
        ("20210411_154753.jpg", D(2021, 4, 11, 15, 47, 53), True),  # Samsung
        ("signal-2021-04-11-154753.jpg", D(2021, 4, 11, 15, 47, 53), True),
        ("2021-04-11 party.jpg", D(2021, 4, 11), False),
    ],
)
def test_dates_in_file_names(name: str, expected: dt.datetime, has_time: bool) -> None:
    assert date_from_name(name) == (expected, has_time)


@pytest.mark.parametrize("name", ["IMG_5195.HEIC", "DSC01234.JPG", "IMG_20211341_101010.jpg",
                                  "photo_99999999.jpg", "IMG_30000101_000000.jpg",
                                  "1234567890123.jpg", "IMG_20210230_101010.jpg"])
def test_names_without_a_real_date(name: str) -> None:
    # Month 13, Feb 30, year 3000, digit runs: none is taken for a capture date
    assert date_from_name(name) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021:04:11 15:47:53", (D(2021, 4, 11, 15, 47, 53), True)),
        ("2021:04:11 15:47:53.054-05:00",
         (D(2021, 4, 11, 15, 47, 53, 54000, tzinfo=dt.timezone(dt.timedelta(hours=-5))), True)),
        ("2011:09:23 12:43:03Z", (D(2011, 9, 23, 12, 43, 3, tzinfo=dt.UTC), True)),
        ("2021-04-11T15:47:53+0200",
         (D(2021, 4, 11, 15, 47, 53, tzinfo=dt.timezone(dt.timedelta(hours=2))), True)),
        ("2021:04:11", (D(2021, 4, 11), False)),
        ("0000:00:00 00:00:00", None),
        ("1904:01:01 00:00:00", None),  # QuickTime's zero
        ("1970:01:01 00:00:00", None),
        ("1955:06:01 10:00:00", (D(1955, 6, 1, 10), True)),  # a scanned print keeps its year
        ("2021:13:01 00:00:00", None),
        ("    :  :     :  :  ", None),
        ("", None),
        (None, None),
        (20210411, None),
    ],
)
def test_exif_stamps(value: object, expected: object) -> None:
    assert parse_exif_datetime(value) == expected
