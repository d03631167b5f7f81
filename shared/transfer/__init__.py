"""Transfers on local and mounted filesystems: the ingest backend (`local`: copy or link under a
temp name, verify, never overwrite), the mirror destination Protocol and its local folder
(`destinations`), streaming hashes (`hashing`) and the shared error mapping (`disk`)."""

from shared.transfer.destinations import Destination, LocalDestination, RemoteEntry
from shared.transfer.disk import destination_error, remove_if_stale
from shared.transfer.hashing import CHUNK, copy_check, file_sha256, open_regular, sha256_file
from shared.transfer.local import (
    TMP_PREFIX,
    Expected,
    LocalTransfer,
    Placement,
    TransferBackend,
    fsync_dir,
)

__all__ = [
    "destination_error",
    "remove_if_stale",
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
