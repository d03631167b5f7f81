"""The lock one beat holds while it schedules (`P:lock:beat`), with a holder token.

A second beat waits for the lock and takes over when it expires. Its value names the holder's
machine and process (holders.py), so a beat started again on the same machine after the first
was killed (`up` starting its beat again) takes the lock at once instead of waiting out the TTL:
the schedules, the in-flight sweeper among them, then miss no turn.
"""

from __future__ import annotations

import redis

from shared.state.holders import holder_gone, new_token

# Delete the key only while it still holds the dead holder's token: a live beat that took the
# lock meanwhile keeps it.
_DELETE_IF = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) " \
             "else return 0 end"
# Renew only our own lock.
_RENEW_IF = "if redis.call('get', KEYS[1]) == ARGV[1] then " \
            "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"


class BeatLock:
    def __init__(self, client: redis.Redis, key: str, ttl: float) -> None:
        self.client, self.key, self.ttl_ms = client, key, int(ttl * 1000)
        self.token = new_token()

    def hold(self) -> bool:
        """Renew the lock if it is ours, else take it if it is free or its holder is gone."""
        if self.client.eval(_RENEW_IF, 1, self.key, self.token, self.ttl_ms):
            return True
        if self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return True
        holder = self.client.get(self.key)
        if holder is None:
            return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        text = holder.decode() if isinstance(holder, bytes) else str(holder)
        if holder_gone(text, mine=False) and self.client.eval(_DELETE_IF, 1, self.key, holder):
            return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return False

    def release(self) -> None:
        self.client.eval(_DELETE_IF, 1, self.key, self.token)
