"""Transfers on local and mounted filesystems: the ingest backend (`local`: copy or link under a
temp name, verify, never overwrite), the mirror destination Protocol and its local folder
(`destinations`), streaming hashes (`hashing`), the shared error mapping (`disk`) and the
race-free removal of a user's file once its content is proven elsewhere (`release`)."""

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
from shared.transfer.release import (
    QUARANTINE_DIR,
    Identity,
    Release,
    give_own_copy,
    hidden_path,
    move_to_free_name,
    release_file,
    rename_noreplace,
    restore_interrupted_release,
)

__all__ = [
    "destination_error",
    "remove_if_stale",
    "CHUNK",
    "Destination",
    "Expected",
    "Identity",
    "QUARANTINE_DIR",
    "Release",
    "LocalDestination",
    "LocalTransfer",
    "Placement",
    "RemoteEntry",
    "TMP_PREFIX",
    "TransferBackend",
    "copy_check",
    "file_sha256",
    "fsync_dir",
    "give_own_copy",
    "hidden_path",
    "move_to_free_name",
    "release_file",
    "rename_noreplace",
    "restore_interrupted_release",
    "open_regular",
    "sha256_file",
]
