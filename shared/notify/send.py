"""Sending through Apprise, and one tick of a `[notify.NAME]`: gather, send, remember.

State moves on only after a message went out: a service that is down gets the same news at the
next tick instead of losing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import apprise

from shared.config import NotifyConfig
from shared.notify.watch import Message, NotifyState, summary_message
from shared.state import RedisStateStore

log = logging.getLogger("mediacourier.notify")
Sender = Callable[[NotifyConfig, Message], bool]


def apprise_send(config: NotifyConfig, message: Message) -> bool:
    sender = apprise.Apprise()
    for url in config.urls:
        if not sender.add(url):
            log.warning("notify.%s: an Apprise URL is not understood; left out", config.name)
    return bool(sender.notify(title=message.title, body=message.body))


def notify_tick(config: NotifyConfig, store: RedisStateStore, now: float,
                send: Sender = apprise_send) -> list[Message]:
    """One look at the state; returns the messages that went out."""
    state = NotifyState(store, config.name)
    state.read_journal()
    out: list[Message] = []
    for message in state.due_events(config, now):
        if send(config, message):
            state.sent_events(message.kind, now)
            out.append(message)
    started, ended = state.new_holds(config, now)
    if started and "holds" in config.events:
        message = Message("holds", f"mediacourier: {len(started)} on hold",
                          "\n".join(started.values()))
        if not send(config, message):
            started = {}
        else:
            out.append(message)
    state.mark_holds(list(started), ended, now)
    day = state.summary_due(config, now) if "summary" in config.events else None
    if day is not None:
        message = summary_message(store)
        if send(config, message):
            state.summary_sent(day)
            out.append(message)
    return out
