"""SSH connections to targets: the host key must already be known, keys only, clear errors.

A host key is never accepted on first sight (paramiko's RejectPolicy): an unknown or changed key
is a permanent TargetRefused that says how to check and add it. Network trouble is a retryable
TargetUnreachable.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from shared.config import TargetConfig
from shared.errors import TargetRefused, TargetUnreachable

if TYPE_CHECKING:
    import paramiko

KEEPALIVE_SECONDS = 15


def _known_hosts_name(target: TargetConfig) -> str:
    return target.host if target.port == 22 else f"[{target.host}]:{target.port}"


def unknown_host_message(target: TargetConfig) -> str:
    return (f"{target.name}: host key of {target.address} is not in {target.known_hosts}; check "
            f"its fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), "
            f"then add it: ssh-keyscan -p {target.port} {target.host} >> {target.known_hosts}")


def connect(target: TargetConfig, timeout: float | None = None) -> paramiko.SSHClient:
    """An authenticated SSHClient for target; TargetRefused or TargetUnreachable otherwise."""
    import paramiko  # here, not at the top: see shared/remote/wire.py

    timeout = target.timeout if timeout is None else timeout
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        if target.known_hosts is not None:
            client.load_host_keys(str(target.known_hosts))
    except OSError as exc:
        raise TargetRefused(f"{target.name}: cannot read known_hosts {target.known_hosts}: "
                            f"{exc.strerror}") from exc
    try:
        client.connect(target.host, target.port, username=target.user,
                       key_filename=str(target.key_file) if target.key_file else None,
                       timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
                       channel_timeout=timeout, allow_agent=False, look_for_keys=False)
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise TargetRefused(
            f"{target.name}: host key of {target.address} does not match {target.known_hosts} "
            f"(got {exc.key.get_name()} {exc.key.fingerprint}); if the host was reinstalled, "
            f"check the new fingerprint and replace its line "
            f"(ssh-keygen -R '{_known_hosts_name(target)}' -f {target.known_hosts})") from exc
    except paramiko.AuthenticationException as exc:
        client.close()
        raise TargetRefused(f"{target.name}: {target.user}@{target.address} refused the key "
                            f"{target.key_file} ({exc}); add its .pub to the user's "
                            "authorized_keys") from exc
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise TargetRefused(unknown_host_message(target)) from exc
        raise TargetUnreachable(f"{target.name}: SSH to {target.address} failed: {exc}") from exc
    except (OSError, EOFError) as exc:  # socket.timeout is TimeoutError, an OSError
        client.close()
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise TargetUnreachable(f"{target.name}: cannot reach {target.address}: {reason}") \
            from exc
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(KEEPALIVE_SECONDS)
    return client


def ssh_argv(target: TargetConfig) -> list[str]:
    """The system `ssh` with the same rules (pinned host key, the key file, no prompts)."""
    argv = ["ssh", "-p", str(target.port), "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(target.timeout)}",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=2"]
    if target.key_file is not None:
        argv += ["-i", str(target.key_file), "-o", "IdentitiesOnly=yes"]
    if target.known_hosts is not None:
        argv += ["-o", f"UserKnownHostsFile={target.known_hosts}"]
    return argv


def ssh_command_string(target: TargetConfig, *extra: str) -> str:
    """ssh_argv (plus extra options) as one string, for `rsync -e`."""
    return " ".join(shlex.quote(part) for part in [*ssh_argv(target), *extra])
