"""Media: what a photo or video file is (extensions, sidecars, ignore rules) and where it goes
in a library (layout templates, capture dates, collision names). Plain logic, no I/O beyond
reading a file's own metadata."""

from shared.media.ignore import MEDIA_EXTENSIONS, IgnoreRules, is_sidecar
from shared.media.layout import (
    capture_date,
    image_candidates,
    library_rel_path,
    needs_date,
    sidecar_name_for,
    validate_layout,
    with_suffix_number,
)

__all__ = [
    "IgnoreRules",
    "MEDIA_EXTENSIONS",
    "capture_date",
    "image_candidates",
    "is_sidecar",
    "library_rel_path",
    "needs_date",
    "sidecar_name_for",
    "validate_layout",
    "with_suffix_number",
]
