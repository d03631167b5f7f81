"""The one frozen `Settings` object: TOML file + `MEDIACOURIER_*` environment, validated once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from shared.config.flows import FlowConfig
from shared.config.hosts import HostsConfig
from shared.config.mirrors import MirrorConfig
from shared.config.notify import NotifyConfig
from shared.config.rescan import RescanTarget
from shared.config.scrub import ScrubConfig
from shared.config.sections import LibraryConfig, Schedule, SourceConfig
from shared.config.security import SecurityConfig, redacted_url
from shared.config.syncthing import SyncthingConfig
from shared.config.targets import TargetConfig
from shared.config.web import WebConfig
from shared.errors import ConfigError

DEFAULT_DATA_DIR = "mediacourier-data"
ENV_PREFIX = "MEDIACOURIER_"
RUNTIME_URL_FILE = "run/redis.url"  # written by `mediacourier up` for its embedded Redis


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    redis_url: str = ""
    key_prefix: str = "mediacourier"
    sources: Mapping[str, SourceConfig] = field(default_factory=dict)
    libraries: Mapping[str, LibraryConfig] = field(default_factory=dict)
    rescan_targets: Mapping[str, RescanTarget] = field(default_factory=dict)
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    visibility_timeout: int = 3600
    restore_interval: int = 60
    lease_seconds: int = 30
    inflight_timeout: int = 30
    task_time_limit: int = 1800
    floor_rate: int = 10_000_000  # bytes/s: a task moving a file gets size / floor_rate more
    max_retries: int = 8
    retry_backoff_max: int = 600
    verify_attempts: int = 3
    batch_files: int = 64
    batch_bytes: int = 256 * 1024 * 1024
    flower_address: str = "127.0.0.1"
    flower_port: int = 5555
    flower_basic_auth: str = ""
    config_path: Path | None = None
    mirrors: Mapping[str, MirrorConfig] = field(default_factory=dict)
    syncthing: Mapping[str, SyncthingConfig] = field(default_factory=dict)
    hosts: HostsConfig = field(default_factory=HostsConfig)
    metrics_listen: str = "127.0.0.1:9808"
    security: SecurityConfig = field(default_factory=SecurityConfig)
    # Settings that are valid but can never take effect (shared/config/advice.py): printed
    # when the configuration loads, never fatal.
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks: never with the Redis or Flower password.
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["redis_url"] = redacted_url(self.redis_url)
        shown["flower_basic_auth"] = "***" if self.flower_basic_auth else ""
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"
    targets: Mapping[str, TargetConfig] = field(default_factory=dict)
    scrubs: Mapping[str, ScrubConfig] = field(default_factory=dict)
    notify: Mapping[str, NotifyConfig] = field(default_factory=dict)
    web: WebConfig = field(default_factory=WebConfig)
    flows: Mapping[str, FlowConfig] = field(default_factory=dict)

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def sweep_seconds(self) -> float:
        """How often beat runs the in-flight sweeper: every minute, or every half
        `inflight_timeout` when that is shorter (an abandoned file then waits at most 1.5
        times it)."""
        return max(1.0, min(60.0, self.inflight_timeout / 2))

    @property
    def countdown_limit(self) -> float:
        """The longest any message may wait before it runs (a countdown, a retry, a pause
        recheck): half the visibility timeout, and no more than the longest task leaves of it,
        or the waiting message is delivered again (see shared/config/countdowns.py)."""
        vis = self.visibility_timeout
        return max(1.0, min(vis / 2, vis - self.task_time_limit))

    def source_for_path(self, path: Path) -> tuple[SourceConfig, str] | None:
        """The source whose root contains `path` (not following symlinks) and the relative path."""
        absolute = Path(os.path.abspath(path))
        for source in self.sources.values():
            try:
                rel = absolute.relative_to(source.path)
            except ValueError:
                continue
            if rel.parts and ".." not in rel.parts:
                return source, rel.as_posix()
        return None

    def flow_fed_by(self, source: str) -> FlowConfig | None:
        """The [flows.NAME] that takes source `source`'s files (`source = "X"`, or a `from` that
        is its folder), else None. Such a source belongs to its flow: nothing else ingests it
        (no watch, no reconcile, no sync, no manual trigger), or a file would reach the
        source's library instead of going through the flow's steps."""
        config = self.sources.get(source)
        for flow in self.flows.values():
            if flow.source == source or (config is not None and flow.from_path == config.path):
                return flow
        return None

    @property
    def ingested_sources(self) -> dict[str, SourceConfig]:
        """The sources ingested the normal way (watched, reconciled, synced): every source
        that no flow takes (see `flow_fed_by`)."""
        return {name: source for name, source in self.sources.items()
                if self.flow_fed_by(name) is None}

    def library_of(self, source: SourceConfig) -> LibraryConfig:
        return self.libraries[source.library]

    def mirror_root(self, mirror: MirrorConfig) -> Path:
        """The local tree a mirror copies: its `source`, else its library's folder."""
        if mirror.source_path is not None:
            return mirror.source_path
        assert mirror.library is not None
        return Path(self.libraries[mirror.library].path)


def broker_url(settings: Settings) -> str:
    """The configured Redis URL, else the one `mediacourier up` wrote for its embedded Redis."""
    if settings.redis_url:
        return settings.redis_url
    url_file = Path(settings.data_dir) / RUNTIME_URL_FILE
    if url_file.is_file():
        return url_file.read_text().strip()
    raise ConfigError(
        f"no Redis configured: set redis_url or MEDIACOURIER_REDIS_URL, or start "
        f"`mediacourier up` (it writes {url_file})"
    )
