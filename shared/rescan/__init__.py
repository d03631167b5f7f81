"""TODO"""

from shared.rescan.apps import app_client
from shared.rescan.executors import make_executor
from shared.rescan.flush import flush_rescans

__all__ = [
    "app_client",
    "flush_rescans",
    "make_executor",
]
