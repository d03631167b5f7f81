"""The Celery app a `mediacourier` command sends with: built once from the command's settings."""

from __future__ import annotations

from celery import Celery

from shared.config import Settings
from tasks.app import create_app

_apps: dict[int, Celery] = {}


def celery_app(settings: Settings) -> Celery:
    """The app for these settings (one per process): names tasks, never imports their code."""
    app = _apps.get(id(settings))
    if app is None:
        app = _apps[id(settings)] = create_app(settings)
    return app
