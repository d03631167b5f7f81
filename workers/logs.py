"""One log format for every process of a deployment, each line tagged with its process.

`mediacourier up` interleaves the output of a worker, beat, the watcher, Flower and metrics on
one terminal; each line says which of them wrote it:

    2026-12-02 00:45:54 worker  INFO    files: inbox:2024/IMG_1.jpg → library:2024/IMG_1.jpg, …

At INFO a file shows up once, with its outcome (`shared.state` logs it when the outcome is
recorded); Celery's per-task lines ("Task … received", "Task … succeeded in …: <the whole job
dict>"), six per file, are demoted to DEBUG: `-l DEBUG` (or `-v`) shows them again.
"""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TextIO

from celery.app import trace as celery_trace

FORMAT = "%(asctime)s %(process_tag)-7s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
LOG_DIR_ENV = "MEDIACOURIER_LOG_DIR"  # a folder: each process also keeps its last lines there
LOG_FILE_BYTES = 1_000_000

CELERY_PROCESSES = ("worker", "beat", "flower")
# The tag of a `mediacourier` command's log lines: the processes `up` starts by their role.
COMMAND_TAGS = {"watch": "watcher", "metrics": "metrics", "worker": "worker", "up": "up"}

# Messages that are DEBUG to us, logged at INFO or WARNING by Celery and Flower (the record's
# `msg` is the template): Celery's per-task lines; Flower's 24-line list of registered tasks;
# and Flower's "Inspect method stats|conf|registered|active_queues failed" ×4 at every start:
# Flower starts beside the worker and inspects it once before the worker answers (1 s timeout),
# then fills its worker list in from the worker's events anyway. (The variant with a reason,
# "failed: <error>", is a broker that cannot be reached, and keeps its WARNING.)
AT_DEBUG_MESSAGES = frozenset({celery_trace.LOG_RECEIVED, celery_trace.LOG_SUCCESS,
                               "Registered tasks: \n%s", "Inspect method %s failed"})
AT_DEBUG_LOGGERS = ("celery.app.trace", "celery.worker.strategy", "flower.command",
                    "flower.inspector")


class TagFormatter(logging.Formatter):
    """FORMAT with the process tag filled in, and no record spread over several lines: a
    newline in a message (a file name, Flower's task list) would start a line with no tag."""

    def __init__(self, tag: str) -> None:
        super().__init__(FORMAT, DATE_FORMAT)
        self.tag = tag

    def format(self, record: logging.LogRecord) -> str:
        record.process_tag = self.tag
        text = super().format(record)
        head, *rest = text.split("\n")
        if not rest:
            return head
        # A traceback stays below its line, indented; any other newline is shown as \n.
        if record.exc_info or record.stack_info:
            return "\n".join([head, *("    " + line for line in rest)])
        return "\\n".join([head, *rest])


class AtDebug(logging.Filter):
    """The AT_DEBUG_MESSAGES count as DEBUG: shown only when the process logs at DEBUG.
    Celery's retries, failures and rejections keep their level."""

    def __init__(self, show: bool) -> None:
        super().__init__()
        self.show = show

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in AT_DEBUG_MESSAGES:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.show


def celery_process_tag(argv: list[str]) -> str:
    """`worker`, `beat` or `flower` for `celery … worker|beat|flower …`, else `celery`."""
    return next((arg for arg in argv[1:] if arg in CELERY_PROCESSES), "celery")


def command_tag(command: str | None) -> str:
    """`watcher` for `mediacourier watch`, `metrics` for `mediacourier metrics`, else `cli`."""
    return COMMAND_TAGS.get(command or "", "cli")


def level_of(level: int | str | None) -> int:
    """A level given as a number, a name ("info", "WARNING") or nothing (INFO)."""
    if level is None or level == "":
        return logging.INFO
    if isinstance(level, int):
        return level
    if level.isdigit():
        return int(level)
    value = logging.getLevelName(level.upper())
    return value if isinstance(value, int) else logging.INFO


def configure_logging(tag: str, level: int | str | None = logging.INFO,
                      logfile: str | None = None, stream: TextIO | None = None) -> None:
    """Route every logger of this process through one handler in FORMAT, tagged `tag`.

    Safe to call again (a Celery pool child configures itself after the fork): the handler
    replaces the one before."""
    numeric = level_of(level)
    if logfile:
        handler: logging.Handler = logging.FileHandler(logfile, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(TagFormatter(tag))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    if os.environ.get(LOG_DIR_ENV):  # `up` sets it: the web page's /api/logs reads these files
        Path(os.environ[LOG_DIR_ENV]).mkdir(parents=True, exist_ok=True)
        kept = RotatingFileHandler(Path(os.environ[LOG_DIR_ENV]) / f"{tag}.log",
                                   maxBytes=LOG_FILE_BYTES, backupCount=1, encoding="utf-8")
        kept.setFormatter(TagFormatter(tag))
        root.addHandler(kept)
    root.setLevel(numeric)
    for name in ("celery", "celery.task", "celery.redirected"):
        # Celery's own handlers would print each line a second time, in Celery's format.
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    debug = numeric <= logging.DEBUG
    for name in AT_DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        logger.filters = [f for f in logger.filters if not isinstance(f, AtDebug)]
        logger.addFilter(AtDebug(debug))
    # Each file's outcome at INFO where the outcomes are recorded (shared/state/journal.py).
    logging.getLogger("mediacourier.files").setLevel(
        logging.NOTSET if tag == "worker" else logging.ERROR)
    logging.captureWarnings(True)  # a warning is one tagged line too, not two raw ones
