"""TODO"""

from shared.transfer.destinations import Destination, LocalDestination, RemoteEntry, file_sha256
from shared.transfer.hashing import CHUNK, copy_check, open_regular, sha256_file
from shared.transfer.local import (
    TMP_PREFIX,
    Expected,
    LocalTransfer,
    Placement,
    TransferBackend,
    fsync_dir,
)

__all__ = [
    "CHUNK",
    "Destination",
    "Expected",
    "LocalDestination",
    "LocalTransfer",
    "Placement",
    "RemoteEntry",
    "TMP_PREFIX",
    "TransferBackend",
    "copy_check",
    "file_sha256",
    "fsync_dir",
    "open_regular",
    "sha256_file",
]
