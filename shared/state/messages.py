"""What the broker holds: the files named by live messages, read for the in-flight sweeper.

A message lives in one of two places on the Redis broker: waiting in a queue (a list named after
the queue), or delivered to a worker and not yet acknowledged (kombu's `unacked` hash, with the
delivery time in `unacked_index`). A delivered message is live while its worker may still run
it: it was delivered less than `grace` seconds ago (a running stage holds its file's lease from
then on), or it waits for its ETA (a retry, a pause recheck). A delivered message older than that
with no lease on its file belongs to a worker that is gone: kombu gives it back only after the
visibility timeout, so the sweeper does not count it.

The format is Celery's protocol 2 as kombu stores it: a JSON envelope whose base64 body is
`[args, kwargs, embed]`, in JSON or signed (`celery.security`: the JSON is the last field of a
base64 blob). Nothing here runs or trusts what it reads: it only collects (source, rel_path).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
from collections.abc import Iterable
from typing import Any

import redis

log = logging.getLogger(__name__)

# kombu's default key names for delivered, unacknowledged messages (redis transport).
UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"
SIGNED_SEPARATOR = b"\x00\x01"  # celery.security.serialization.DEFAULT_SEPARATOR
PAGE = 1000

FileName = tuple[str, str]
# kombu's Redis transport keeps a queue's messages of priority 3, 6 and 9 (tasks/routing.py)
# in lists of their own beside the queue's list, which holds priority 0.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)


def priority_lists(queue: str) -> list[str]:
    """The Redis lists of one queue, the first consumed first."""
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}"
            for step in PRIORITY_STEPS]


def files_in_messages(client: redis.Redis, queues: list[str], now: float, grace: float,
                      limit: int = 20_000) -> set[FileName] | None:
    """(source, rel_path) of every file a live message names, in `queues` and in the messages
    delivered from them; None when more than `limit` messages wait (a backlog: its files are
    still coming, and reading it all every minute would cost more than it tells)."""
    lists = [name for queue in queues for name in priority_lists(queue)]
    lengths = [int(n) for n in _pipelined(client, [("llen", q) for q in lists])]
    if sum(lengths) + int(client.hlen(UNACKED)) > limit:
        return None
    found: set[FileName] = set()
    for name, length in zip(lists, lengths, strict=True):
        for start in range(0, length, PAGE):
            for raw in client.lrange(name, start, start + PAGE - 1):
                found |= files_of(_loads(raw))
    delivered = dict(client.zrange(UNACKED_INDEX, 0, -1, withscores=True))
    ours = set(queues)
    for tag, raw in client.hscan_iter(UNACKED, count=PAGE):
        entry = _loads(raw)
        if not isinstance(entry, list) or len(entry) != 3 or entry[2] not in ours:
            continue  # another deployment's queue on the same Redis, or not kombu's shape
        message = entry[0] if isinstance(entry[0], dict) else {}
        if delivered.get(tag, 0.0) > now - grace or _waits(message, now - grace):
            found |= files_of(message)
    return found


def files_of(message: Any) -> set[FileName]:
    """The files one message names: a stage's job, or the items of an `ingest_batch`."""
    if not isinstance(message, dict):
        return set()
    headers = message.get("headers") or {}
    body = _body(message)
    if not isinstance(body, list) or not body or not isinstance(body[0], list):
        return set()
    args = body[0]
    if headers.get("task") == "mediacourier.ingest_batch" and len(args) == 2:
        source, items = args
        if isinstance(source, str) and isinstance(items, list):
            return {(source, item[0]) for item in items
                    if isinstance(item, list) and item and isinstance(item[0], str)}
        return set()
    job = args[0] if args else None
    if isinstance(job, dict) and isinstance(job.get("source"), str) \
            and isinstance(job.get("rel_path"), str):
        return {(job["source"], job["rel_path"])}
    return set()


def _waits(message: dict[str, Any], since: float) -> bool:
    """The message has an ETA later than `since` (a countdown still running, or just over)."""
    eta = (message.get("headers") or {}).get("eta")
    if not isinstance(eta, str):
        return False
    try:
        when = dt.datetime.fromisoformat(eta)
    except ValueError:
        return True  # an ETA we cannot read: assume its worker is waiting for it
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp() > since


def _body(message: dict[str, Any]) -> Any:
    raw: Any = message.get("body", "")
    try:
        if (message.get("properties") or {}).get("body_encoding") == "base64":
            raw = base64.b64decode(raw)
        if message.get("content-type") == "application/data":  # signed
            raw = base64.b64decode(raw).split(SIGNED_SEPARATOR, 4)[4]
        return json.loads(raw)
    except (binascii.Error, IndexError, TypeError, ValueError):
        log.debug("a message body that is not Celery's JSON: %r", str(raw)[:200])
        return None


def _loads(raw: Any) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None


def _pipelined(client: redis.Redis, calls: Iterable[tuple[str, str]]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    for command, key in calls:
        getattr(pipe, command)(key)
    return pipe.execute()
