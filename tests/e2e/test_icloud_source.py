"""An iCloud source end to end: a real redis-server and a real Celery worker run
mediacourier.fetch_icloud with the icloudpd stand-in (tests/data/icloudpd_standin/): what it
downloads into the source lands in the library; a login that needs a person holds the source's
fetching, is notified once through Apprise, and the next scheduled run does not run icloudpd."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Deployment, wait_for
from tests.shared.notify.test_notify import Endpoint
from tests.shared.source.icloud_standin import install_standin, standin_calls, tell_standin


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.server.shutdown()
    served.server.server_close()


def _icloud_source(deployment: Deployment, tmp_path: Path) -> tuple[Path, Path, Path]:
    standin = install_standin(tmp_path / "bin")
    source, library = deployment.one_source(
        "icloud", "lib", kind="icloud", icloud_username="jappleseed@example.com",
        icloudpd=str(standin), stability="1s", fetch_every="1h")
    cookies = deployment.folder("data") / "icloud" / "icloud"
    return source, library, cookies


def _result(deployment: Deployment, sent: subprocess.CompletedProcess[str]) -> str:
    """The result of the task `celery call` sent (waits for the worker to finish it)."""
    assert sent.returncode == 0, sent.stderr
    task_id = sent.stdout.strip().splitlines()[-1]
    done = subprocess.run(deployment.celery("result", task_id), cwd=deployment.root,
                          env=deployment.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_downloaded_photos_land_in_the_library(deployment: Deployment, tmp_path: Path,
                                               corpus_dir: Path) -> None:
    # Given an iCloud source whose icloudpd has two corpus photos to download, and a worker
    source, library, cookies = _icloud_source(deployment, tmp_path)
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:2]
    tell_standin(cookies, "download", [{"src": str(p), "name": p.name, "folder": "2024/05"}
                                       for p in photos])
    deployment.start_worker()
    # When beat's fetch task is sent
    out = _result(deployment, deployment.celery_call("mediacourier.fetch_icloud", '["icloud"]'))
    # Then icloudpd ran once and both photos land in the library, byte for byte, and leave
    # the source (mode move)
    assert "'downloaded': 2" in out
    for photo in photos:
        copy = library / "2024" / "05" / photo.name
        wait_for(copy.exists, 90, f"{copy} in the library")
        assert copy.read_bytes() == photo.read_bytes()
    wait_for(lambda: not any(p.is_file() for p in source.rglob("*")), 60, "the source emptied")
    assert len(standin_calls(cookies)) == 1


def test_an_expired_login_holds_notifies_once_and_is_not_run_again(
        deployment: Deployment, tmp_path: Path, endpoint: Endpoint) -> None:
    # Given an iCloud source whose 2FA has expired, a notifier, and a worker
    deployment.tables["notify.owner"] = {"urls": [endpoint.url], "events": ["holds"]}
    _source, _library, cookies = _icloud_source(deployment, tmp_path)
    tell_standin(cookies, "auth_2fa")
    deployment.start_worker()
    # When the fetch runs, the notifier looks, and both run once more
    first = _result(deployment, deployment.celery_call("mediacourier.fetch_icloud",
                                                       '["icloud"]'))
    _result(deployment, deployment.celery_call("mediacourier.notify", "[]"))
    second = _result(deployment, deployment.celery_call("mediacourier.fetch_icloud",
                                                        '["icloud"]'))
    _result(deployment, deployment.celery_call("mediacourier.notify", "[]"))
    # Then the first run is an auth failure, the second is held without running icloudpd
    assert "'failure': 'auth'" in first
    assert "Two-factor authentication is required (2fa)" in second and "held" in second
    assert len(standin_calls(cookies)) == 1
    assert len(deployment.events("fetch_held")) == 1
    # And exactly one notification went out, naming the source
    assert len(endpoint.received) == 1
    assert "source icloud" in endpoint.received[0]["message"]
