"""Task arguments naming a file of a source a flow takes, or a file of a Nextcloud data
directory outside its users' watched folders, are refused with one line (PathRefused) before
anything is touched: a job (every stage), a batch item, and the manual `mediacourier.ingest` of
an absolute path (`celery call`, the CLI, the web)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings, build_settings
from shared.errors import PathRefused
from shared.source import checked_item, checked_job, checked_source, locate_file
from tests.shared.source.nextcloud_helpers import make_data_dir

PHOTO = b"\xff\xd8\xff\xe0 a photo " * 32


def flow_settings(tmp_path: Path, **flow: Any) -> Settings:
    """Sources `icloud` (fed to flow `relay`) and `inbox` (ingested), each with a photo."""
    for name in ("icloud", "inbox", "lib", "pixel"):
        (tmp_path / name).mkdir()
    for name in ("icloud", "inbox"):
        (tmp_path / name / "IMG_0001.jpg").write_bytes(PHOTO)
    return build_settings({
        "sources": {"icloud": {"path": str(tmp_path / "icloud"), "library": "main"},
                    "inbox": {"path": str(tmp_path / "inbox"), "library": "main"}},
        "libraries": {"main": {"path": str(tmp_path / "lib")},
                      "pixel": {"path": str(tmp_path / "pixel")}},
        "flows": {"relay": {**(flow or {"source": "icloud"}),
                            "steps": [{"kind": "deliver", "library": "pixel"}]}},
    }, None, tmp_path)


@pytest.mark.parametrize("flow", [{"source": "icloud"}, {"from": "icloud"}],
                         ids=["source", "from"])
def test_a_source_fed_to_a_flow_is_refused_as_a_task_argument_naming_the_flow(
        tmp_path: Path, flow: dict[str, str]) -> None:
    # Given source icloud taken by flow relay (by name, or by its folder), inbox by no flow
    settings = flow_settings(tmp_path, **flow)
    job = {"source": "icloud", "rel_path": "IMG_0001.jpg"}
    # When a job, a batch's source and a manual trigger name a file of icloud
    # Then each is refused in one line naming the source and the flow
    for check in (lambda: checked_job(settings, job),
                  lambda: checked_source(settings, "icloud"),
                  lambda: locate_file(settings, str(tmp_path / "icloud" / "IMG_0001.jpg"))):
        with pytest.raises(PathRefused) as refused:
            check()
        message = str(refused.value)
        assert "source 'icloud' is fed to flow 'relay'" in message
        assert "\n" not in message
    # And the same file in a source no flow takes is accepted, as before
    assert checked_job(settings, {**job, "source": "inbox"}).source == "inbox"
    assert locate_file(settings, str(tmp_path / "inbox" / "IMG_0001.jpg"))[1] == "IMG_0001.jpg"
    assert (tmp_path / "icloud" / "IMG_0001.jpg").read_bytes() == PHOTO


def nextcloud_settings(tmp_path: Path) -> Settings:
    """A data directory: alice and bob with InstantUpload (bob excluded), alice's trash, and
    Nextcloud's previews; a file in each."""
    data = make_data_dir(tmp_path, {"alice": ["files/InstantUpload", "files_trashbin/files"],
                                    "bob": ["files/InstantUpload"]})
    for rel in ("alice/files/InstantUpload/a.jpg", "alice/files_trashbin/files/x.jpg",
                "bob/files/InstantUpload/b.jpg", "appdata_oc1x2y3z/preview/1.jpg"):
        (data / rel).write_bytes(PHOTO)
    (tmp_path / "lib").mkdir()
    return build_settings({
        "sources": {"nc": {"path": str(data), "library": "main", "kind": "nextcloud",
                           "users_exclude": ["bob"]}},
        "libraries": {"main": {"path": str(tmp_path / "lib")}}}, None, tmp_path)


@pytest.mark.parametrize(("rel", "why"), [
    ("appdata_oc1x2y3z/preview/1.jpg", "not inside any user's <user>/files/InstantUpload"),
    ("alice/files_trashbin/files/x.jpg", "not inside any user's <user>/files/InstantUpload"),
    ("nextcloud.log", "not inside any user's <user>/files/InstantUpload"),
    ("bob/files/InstantUpload/b.jpg", "Nextcloud user 'bob' is left out (users_exclude 'bob')"),
])
def test_a_nextcloud_path_outside_the_users_watched_folders_is_refused(
        tmp_path: Path, rel: str, why: str) -> None:
    # Given a Nextcloud source watching <user>/files/InstantUpload, bob excluded
    settings = nextcloud_settings(tmp_path)
    source = settings.sources["nc"]
    # When a job, a batch item and a manual trigger name a file outside what is watched
    # Then each is refused in one line naming the path and why
    for check in (lambda: checked_job(settings, {"source": "nc", "rel_path": rel}),
                  lambda: checked_item(source, [rel, 10, 1]),
                  lambda: locate_file(settings, str(source.path / rel))):
        with pytest.raises(PathRefused) as refused:
            check()
        assert rel in str(refused.value)
        assert why in str(refused.value)
        assert "\n" not in str(refused.value)


def test_a_link_from_a_watched_folder_into_appdata_is_refused_once_resolved(
        tmp_path: Path) -> None:
    # Given a folder inside alice's InstantUpload that is a symlink into appdata's previews
    settings = nextcloud_settings(tmp_path)
    data = settings.sources["nc"].path
    os.symlink(data / "appdata_oc1x2y3z" / "preview", data / "alice/files/InstantUpload/prev")
    rel = "alice/files/InstantUpload/prev/1.jpg"
    # When a job names a file through it
    with pytest.raises(PathRefused) as refused:
        checked_job(settings, {"source": "nc", "rel_path": rel})
    # Then it is refused as resolving outside every user's watched folder
    assert "resolves to appdata_oc1x2y3z/preview/1.jpg" in str(refused.value)
    assert "not inside any user's" in str(refused.value)
    # And alice's own photo is accepted as a job, a batch item and a manual trigger
    rel = "alice/files/InstantUpload/a.jpg"
    assert checked_job(settings, {"source": "nc", "rel_path": rel}).rel_path == rel
    assert checked_item(settings.sources["nc"], [rel, 10, 1]) == (rel, 10, 1)
    assert locate_file(settings, str(data / rel))[1] == rel

