"""TODO"""

from shared.delivery.check import wait_for_delivery
from shared.delivery.jobs import delivery_target, record_delivery
from shared.delivery.syncthing import SyncthingClient, SyncthingRefused, SyncthingUnreachable

__all__ = [
    "SyncthingClient",
    "SyncthingRefused",
    "SyncthingUnreachable",
    "delivery_target",
    "record_delivery",
    "wait_for_delivery",
]
