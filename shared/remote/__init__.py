"""Remote targets over SSH: connections with checked host keys (`ssh`), the ControlMaster that
rsync's ssh shares (`ssh_master`), pooled SFTP sessions (`sftp_session`), the mirror destination
and the ingest backend over SFTP or rsync, and the bandwidth limit shared through Redis.
`targets` opens the right one for a `[targets.NAME]`."""

from shared.remote.sftp_destination import KINDS
from shared.remote.ssh import connect
from shared.remote.ssh_master import ssh_masters_cleaned_up
from shared.remote.targets import open_destination, parallel_of, transfer_backend
from shared.remote.transfer import RemoteTransfer

__all__ = [
    "KINDS",
    "RemoteTransfer",
    "connect",
    "open_destination",
    "parallel_of",
    "ssh_masters_cleaned_up",
    "transfer_backend",
]
