"""TODO"""

from shared.remote.sftp_destination import KINDS
from shared.remote.ssh import connect
from shared.remote.targets import open_destination, parallel_of, transfer_backend

__all__ = [
    "KINDS",
    "connect",
    "open_destination",
    "parallel_of",
    "transfer_backend",
]
