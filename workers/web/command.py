"""`mediacourier web`: registered with the other commands, it replaces this process with the
web server (workers/web/app.py), so that every other command starts without importing
FastAPI, uvicorn and Pillow."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from shared.config import Settings, WebConfig, check_web_credentials, parse_listen


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    if args.listen:  # checked here too, so a bad address is one line before the exec
        parse_listen(args.listen, "--listen")
        web = settings.web
        check_web_credentials(WebConfig(args.listen, web.root_path, web.basic_auth,
                                        web.token_file), "--listen")
    argv = [sys.executable, "-m", "workers.web.app", *(["--listen", args.listen]
                                                        if args.listen else [])]
    sys.stdout.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached


def add_web_parser(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    parser = command("web", "serve the household's web page and its JSON API")
    parser.add_argument("--listen", default="", help="HOST:PORT (default: web_listen)")


WEB_COMMANDS = {"web": cmd_web}
