"""What SFTP code shares without paramiko itself: paths as the bytes SFTP sends, and the
progress callback type.

paramiko (with cryptography and invoke) takes a few hundred milliseconds to import, which every
`mediacourier` command would pay at start-up. So it is imported only by the code that opens an
SSH connection (shared/remote/ssh.py `connect`, the methods of shared/remote/sftp_session.py,
shared/executors/ssh.py), and modules that merely name its types import them under
TYPE_CHECKING. tests/test_startup.py holds `mediacourier sync` to that.
"""

from __future__ import annotations

import os
from collections.abc import Callable

Progress = Callable[[int], None] | None


def wire(path: str) -> bytes:
    """A path as the bytes SFTP sends: names that are not UTF-8 keep their exact bytes."""
    return os.fsencode(path)
