"""TODO"""

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
