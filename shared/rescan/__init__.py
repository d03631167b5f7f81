"""Rescans: tell the photo apps to index exactly the folders that changed. `flush` coalesces
dirty folders per target; `apps` builds each kind's command (Nextcloud occ, PhotoPrism, Immich,
a plain command); `output` reads their output; `clients` are the REST clients; `executors`
picks where the command runs."""

from shared.rescan.apps import app_client
from shared.rescan.executors import make_executor
from shared.rescan.flush import flush_rescans

__all__ = [
    "app_client",
    "flush_rescans",
    "make_executor",
]
