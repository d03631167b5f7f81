"""Configuration: one frozen `Settings`, read once from TOML and `MEDIACOURIER_*` and validated
as a whole; the section types it holds; and the queue routing that follows from `[hosts.*]`.

`load.py` reads and checks (`checks.py` holds the checks across sections), `settings.py` holds
the `Settings` type, one module per section parses its table."""

from shared.config.backups import RcloneTarget, ResticTarget
from shared.config.flower import check_flower_command
from shared.config.flows import STEP_KINDS, FlowConfig, FlowStep
from shared.config.icloud import IcloudOptions
from shared.config.listen import parse_listen
from shared.config.load import build_settings, load_settings
from shared.config.mirrors import CONFLICT_POLICIES, MirrorConfig
from shared.config.nextcloud import (
    FoundUsers,
    NextcloudOptions,
    find_users,
    is_user_folder_name,
    user_filter_reason,
    user_folders_of,
)
from shared.config.notify import EVENTS as NOTIFY_EVENTS
from shared.config.notify import NotifyConfig
from shared.config.queues import (
    ROLES,
    all_queues,
    host_for,
    host_queue,
    queue_for,
    routing_rows,
    shared_queue,
    worker_queues,
)
from shared.config.reach import reached_targets, reaches_library
from shared.config.rescan import AppConfig, ExecutorConfig, RescanTarget, app_path
from shared.config.scrub import ScrubConfig
from shared.config.sections import DUPLICATE_POLICIES, LibraryConfig, Schedule, SourceConfig
from shared.config.security import SecurityConfig, redacted_url, signing_config
from shared.config.settings import RUNTIME_URL_FILE, Settings, broker_url
from shared.config.syncthing import SyncthingConfig
from shared.config.tables import parse_duration
from shared.config.targets import TargetConfig, parse_rate
from shared.config.web import WebConfig, check_web_credentials

__all__ = [
    "CONFLICT_POLICIES",
    "NOTIFY_EVENTS",
    "NotifyConfig",
    "FoundUsers",
    "NextcloudOptions",
    "find_users",
    "user_folders_of",
    "is_user_folder_name",
    "user_filter_reason",
    "ScrubConfig",
    "DUPLICATE_POLICIES",
    "ROLES",
    "RUNTIME_URL_FILE",
    "STEP_KINDS",
    "AppConfig",
    "ExecutorConfig",
    "IcloudOptions",
    "FlowConfig",
    "FlowStep",
    "LibraryConfig",
    "MirrorConfig",
    "RcloneTarget",
    "RescanTarget",
    "ResticTarget",
    "Schedule",
    "SecurityConfig",
    "Settings",
    "SourceConfig",
    "SyncthingConfig",
    "TargetConfig",
    "WebConfig",
    "all_queues",
    "app_path",
    "broker_url",
    "build_settings",
    "check_flower_command",
    "host_for",
    "host_queue",
    "load_settings",
    "parse_duration",
    "parse_listen",
    "check_web_credentials",
    "parse_rate",
    "queue_for",
    "reached_targets",
    "reaches_library",
    "redacted_url",
    "routing_rows",
    "shared_queue",
    "signing_config",
    "worker_queues",
]
