"""Delivery: after a file is recorded in a library that Syncthing shares, ask Syncthing to
scan it and confirm the devices have it. `syncthing` is the REST client, `check` waits on it,
`jobs` maps a `FileJob` to its folder and journals the outcome."""

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
