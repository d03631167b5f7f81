"""An iCloud source end to end: a real redis-server and a real Celery worker run
mediacourier.fetch_icloud with the icloudpd stand-in (tests/data/icloudpd_standin/): what it
downloads into the source lands in the library and stays in the source (an iCloud source
copies); a login that needs a person holds the source's fetching, is notified once through
Apprise, and the next scheduled run does not run icloudpd; icloudpd is told to delete from
iCloud only on a fetch after the old photos' copies were verified."""

from __future__ import annotations

import os
import subprocess
import time
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


def _icloud_source(deployment: Deployment, tmp_path: Path, **keys: object
                   ) -> tuple[Path, Path, Path]:
    standin = install_standin(tmp_path / "bin")
    source, library = deployment.one_source(
        "icloud", "lib", kind="icloud", icloud_username="jappleseed@example.com",
        icloudpd=str(standin), stability="1s", fetch_every="1h", **keys)
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
    # Then icloudpd ran once and both photos land in the library, byte for byte, and stay in
    # the source (an iCloud source copies: icloudpd would download a moved file again)
    assert "'downloaded': 2" in out
    for photo in photos:
        copy = library / "2024" / "05" / photo.name
        wait_for(copy.exists, 90, f"{copy} in the library")
        assert copy.read_bytes() == photo.read_bytes()
    store = deployment.store()
    wait_for(lambda: all((r := store.get_record("icloud", f"2024/05/{p.name}")) is not None
                         and r.state == "ingested" for p in photos), 60, "both recorded")
    for photo in photos:
        assert (source / "2024" / "05" / photo.name).read_bytes() == photo.read_bytes()
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


def _deletes(call: dict[str, object]) -> str | None:
    argv = call["argv"]
    assert isinstance(argv, list) and "--delete-after-download" not in argv
    flag = "--keep-icloud-recent-days"
    return argv[argv.index(flag) + 1] if flag in argv else None


def test_icloud_is_told_to_delete_only_after_the_copies_are_verified(
        deployment: Deployment, tmp_path: Path, corpus_dir: Path) -> None:
    # Given an iCloud source deleting what is 30 days old, its library mirrored to a NAS
    # folder, icloudpd holding two corpus photos taken 40 days ago, and a worker
    source, library, cookies = _icloud_source(deployment, tmp_path,
                                              delete_from_icloud_after_days=30)
    deployment.tables["targets.nas"] = {"kind": "local", "root": str(deployment.folder("nas"))}
    deployment.tables["mirrors.offsite"] = {"library": "lib", "target": "nas"}
    deployment.write_config()
    created = int(time.time()) - 40 * 86400
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:2]
    tell_standin(cookies, "download", [{"src": str(p), "name": p.name, "folder": "2024/05",
                                        "created": created} for p in photos])
    deployment.start_worker()
    # When the first fetch runs
    first = _result(deployment, deployment.celery_call("mediacourier.fetch_icloud",
                                                       '["icloud"]'))
    # Then icloudpd downloaded both and was not told to delete: their copies are not verified
    assert "'downloaded': 2" in first
    assert [_deletes(call) for call in standin_calls(cookies)] == [None]
    [deferred] = deployment.events("icloud_delete_deferred")
    assert deferred["reason"].startswith(
        "not deleting from iCloud yet: 2 files older than 30 days not verified yet (first: "
        f"{source / '2024' / '05'}")
    # When the reconcile it sent has ingested both (verified copies in the library, recorded)
    store = deployment.store()
    wait_for(lambda: all((r := store.get_record("icloud", f"2024/05/{p.name}")) is not None
                         and r.state == "ingested" for p in photos), 90, "both ingested")
    for photo in photos:
        assert (library / "2024" / "05" / photo.name).read_bytes() == photo.read_bytes()
        assert os.stat(source / "2024" / "05" / photo.name).st_mtime == created
    # And the next fetch runs
    second = _result(deployment, deployment.celery_call("mediacourier.fetch_icloud",
                                                        '["icloud"]'))
    # Then it downloaded nothing new, then ran icloudpd again told to delete what is 30 days old
    assert "'downloaded': 0" in second and "'failure': None" in second
    assert [_deletes(call) for call in standin_calls(cookies)] == [None, None, "30"]
    assert len(deployment.events("icloud_delete")) == 1
    assert deployment.events("icloud_delete_deferred") == [deferred]
