"""Media: what a photo or video file is (extensions, sidecars, ignore rules, its metadata as
ExifTool reads it, Google Takeout JSONs) and where it goes in a library (layout templates,
capture dates, collision names)."""

from shared.media.apple_ids import may_carry_apple_id
from shared.media.dates import DateSource
from shared.media.ignore import MEDIA_EXTENSIONS, IgnoreRules, is_sidecar
from shared.media.layout import (
    LAYOUT_ALIASES,
    UNDATED_POLICIES,
    LayoutOptions,
    capture_date,
    check_layout_options,
    layout_path,
    library_rel_path,
    needs_date,
    needs_metadata,
    path_safe,
    validate_layout,
)
from shared.media.metadata import (
    VIDEO_EXTENSIONS,
    Metadata,
    prefetch_metadata,
    read_metadata,
    reader_problem,
)
from shared.media.sidecars import image_candidates, sidecar_name_for, with_suffix_number
from shared.media.takeout import (
    TakeoutInfo,
    json_for,
    media_for,
    read_takeout,
    write_takeout_xmp,
)

__all__ = [
    "LAYOUT_ALIASES",
    "UNDATED_POLICIES",
    "VIDEO_EXTENSIONS",
    "DateSource",
    "LayoutOptions",
    "IgnoreRules",
    "MEDIA_EXTENSIONS",
    "Metadata",
    "TakeoutInfo",
    "capture_date",
    "check_layout_options",
    "image_candidates",
    "is_sidecar",
    "json_for",
    "layout_path",
    "library_rel_path",
    "may_carry_apple_id",
    "media_for",
    "needs_date",
    "needs_metadata",
    "path_safe",
    "prefetch_metadata",
    "read_metadata",
    "read_takeout",
    "reader_problem",
    "sidecar_name_for",
    "validate_layout",
    "with_suffix_number",
    "write_takeout_xmp",
]
