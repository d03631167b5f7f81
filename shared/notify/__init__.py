"""Notifications: failures, holds, conflicts, scrub mismatches and a daily summary, found in the
state (`watch`) and sent through Apprise, rate-limited so one outage is one message (`send`)."""

from shared.notify.send import apprise_send, notify_tick
from shared.notify.watch import Message, NotifyState

__all__ = ["Message", "NotifyState", "apprise_send", "notify_tick"]
