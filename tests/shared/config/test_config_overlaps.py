"""Overlapping folders are refused at load: sources, libraries, archive folders, mirror trees and
targets, compared after resolving symlinks; the overlaps that are by design still load."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings, build_settings
from shared.errors import ConfigError
from tests.shared.config_helpers import write_config
from workers.cli import main as mediacourier

JPEG = b"\xff\xd8\xff\xe0" + b"a photo" * 100


def _build(root: Path, raw: dict[str, Any]) -> Settings:
    return build_settings(raw, root / "mediacourier.toml", root)


def _refused(root: Path, raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        _build(root, raw)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _folders(root: Path, *names: str) -> list[Path]:
    made = [root / name for name in names]
    for path in made:
        path.mkdir(parents=True, exist_ok=True)
    return made


# --- the four cases of issue 10 -----------------------------------------------------------


def test_sync_refuses_a_library_that_is_the_source_and_keeps_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a configuration whose library is the source folder itself, holding a photo
    (inbox,) = _folders(tmp_path, "photos")
    (inbox / "IMG_1.jpg").write_bytes(JPEG)
    config = write_config(tmp_path, f'[sources.inbox]\npath = "{inbox}"\nlibrary = "main"\n'
                                    f'[libraries.main]\npath = "{inbox}"\n')

    # When the user runs `mediacourier sync inbox`
    code = mediacourier(["--config", str(config), "sync", "inbox"])

    # Then it stops with one line naming both keys and the folder, and the photo is untouched
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.splitlines() == [err]
    assert (f"[sources.inbox] path ({inbox}) is the same folder as [libraries.main] path "
            f"({inbox})") in err
    assert (inbox / "IMG_1.jpg").read_bytes() == JPEG


def test_a_library_inside_a_move_source_with_delete_duplicates_is_refused(
        tmp_path: Path) -> None:
    # Given a move-mode source whose library lies inside it, duplicates deleted
    inbox, library = _folders(tmp_path, "inbox", "inbox/library")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main", "mode": "move"}},
           "libraries": {"main": {"path": str(library), "duplicates": "delete"}}}
    # When built / Then the line names the library inside the source, with both paths
    assert (f"[libraries.main] path ({library}) lies inside [sources.inbox] path ({inbox})"
            in _refused(tmp_path, raw))


def test_a_source_inside_its_library_with_a_self_mapping_layout_is_refused(
        tmp_path: Path) -> None:
    # Given a source inside its library, laid out as {source}/{rel_dir}/{name}: every file
    # would map back onto itself
    library, inbox = _folders(tmp_path, "library", "library/inbox")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(library), "layout": "{source}/{rel_dir}/{name}"}}}
    # When built / Then it is refused, naming both
    assert (f"[sources.inbox] path ({inbox}) lies inside [libraries.main] path ({library})"
            in _refused(tmp_path, raw))


def test_an_archive_inside_its_source_is_refused(tmp_path: Path) -> None:
    # Given duplicates archived into a folder inside the source they come from
    inbox, library = _folders(tmp_path, "inbox", "library")
    archive = inbox / "dupes"
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(library), "duplicates": "archive",
                                  "archive_path": str(archive)}}}
    # When built / Then it is refused (the archive need not exist yet)
    assert (f"[libraries.main] archive_path ({archive}) lies inside [sources.inbox] path ({inbox})"
            in _refused(tmp_path, raw))


# --- resolved, in both directions ---------------------------------------------------------


def test_a_symlink_to_the_source_used_as_library_is_the_same_folder(tmp_path: Path) -> None:
    # Given a library path that is a symlink to the source folder
    (inbox,) = _folders(tmp_path, "inbox")
    os.symlink(inbox, tmp_path / "library")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(tmp_path / "library")}}}
    # When built / Then the resolved paths are compared and both shown
    assert (f"[sources.inbox] path ({inbox}) is the same folder as [libraries.main] path "
            f"({inbox})") in _refused(tmp_path, raw)


def test_a_library_reached_through_a_symlinked_parent_inside_the_source(
        tmp_path: Path) -> None:
    # Given a library path that looks unrelated but resolves to a folder inside the source
    inbox, _ = _folders(tmp_path, "inbox", "inbox/sub")
    os.symlink(inbox / "sub", tmp_path / "elsewhere")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(tmp_path / "elsewhere")}}}
    assert (f"[libraries.main] path ({inbox / 'sub'}) lies inside [sources.inbox] path ({inbox})"
            in _refused(tmp_path, raw))


def test_two_sources_one_inside_the_other_are_refused(tmp_path: Path) -> None:
    outer, inner, library = _folders(tmp_path, "up", "up/phone", "library")
    raw = {"sources": {"all": {"path": str(outer), "library": "main"},
                       "phone": {"path": str(inner), "library": "main"}},
           "libraries": {"main": {"path": str(library)}}}
    assert (f"[sources.phone] path ({inner}) lies inside [sources.all] path ({outer})"
            in _refused(tmp_path, raw))


def test_a_mirror_target_inside_a_library_is_refused(tmp_path: Path) -> None:
    # Given a mirror of the library to a local target whose root is inside the library
    inbox, library, root = _folders(tmp_path, "inbox", "library", "library/backup")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(library)}},
           "targets": {"disk": {"kind": "local", "root": str(root)}},
           "mirrors": {"nightly": {"library": "main", "target": "disk"}}}
    assert (f"[targets.disk] root ({root}) lies inside [libraries.main] path ({library})"
            in _refused(tmp_path, raw))


def test_a_mirror_target_inside_a_source_is_refused(tmp_path: Path) -> None:
    inbox, library, root = _folders(tmp_path, "inbox", "library", "inbox/backup")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(library)}},
           "targets": {"disk": {"kind": "local", "root": str(root)}},
           "mirrors": {"nightly": {"library": "main", "target": "disk"}}}
    assert (f"[targets.disk] root ({root}) lies inside [sources.inbox] path ({inbox})"
            in _refused(tmp_path, raw))


def test_a_mirrored_tree_holding_a_source_is_refused(tmp_path: Path) -> None:
    # Given a mirror of a folder that contains a source (emptied as its files move)
    top, inbox, library, root = _folders(tmp_path, "data", "data/inbox", "library", "backup")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(library)}},
           "targets": {"disk": {"kind": "local", "root": str(root)}},
           "mirrors": {"data": {"source_path": str(top), "target": "disk"}}}
    assert (f"[sources.inbox] path ({inbox}) lies inside [mirrors.data] source_path ({top})"
            in _refused(tmp_path, raw))


def test_a_mirror_to_the_target_that_holds_a_library_is_refused(tmp_path: Path) -> None:
    # Given a library living on a local target, and a mirror of another tree to that target
    inbox, library, root, other = _folders(tmp_path, "inbox", "library", "disk", "other")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(library)},
                         "copy": {"path": "copy", "target": "disk"}},
           "targets": {"disk": {"kind": "local", "root": str(root)}},
           "mirrors": {"m": {"source_path": str(other), "target": "disk"}}}
    # Then the mirror would delete that library's files: refused
    assert (f"[libraries.copy] path ({root / 'copy'}) lies inside [targets.disk] root ({root})"
            in _refused(tmp_path, raw))


def test_two_mirrors_of_different_trees_to_one_target_are_refused(tmp_path: Path) -> None:
    inbox, library, root, other = _folders(tmp_path, "inbox", "library", "disk", "other")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"}},
           "libraries": {"main": {"path": str(library)}},
           "targets": {"disk": {"kind": "local", "root": str(root)}},
           "mirrors": {"a": {"library": "main", "target": "disk"},
                       "b": {"source_path": str(other), "target": "disk"}}}
    message = _refused(tmp_path, raw)
    assert (f"[mirrors.b] ({other}) and [mirrors.a] ({library}) both mirror to "
            "[targets.disk]") in message


def test_libraries_on_one_ssh_target_are_compared_as_written(tmp_path: Path) -> None:
    # Given two libraries on the same NAS, one inside the other
    inbox, key = _folders(tmp_path, "inbox")[0], tmp_path / "id"
    key.write_text("not read at load")
    (tmp_path / "known_hosts").write_text("")
    nas = {"kind": "sftp", "host": "nas.lan", "user": "u", "key_file": str(key),
           "known_hosts": str(tmp_path / "known_hosts"), "root": "/volume1/photo"}
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "a"}},
           "libraries": {"a": {"path": "all", "target": "nas"},
                         "b": {"path": "all/phone", "target": "nas"}},
           "targets": {"nas": nas}}
    assert ("[libraries.b] path (nas.lan:/volume1/photo/all/phone) lies inside "
            "[libraries.a] path (nas.lan:/volume1/photo/all)") in _refused(tmp_path, raw)


# --- the overlaps that are by design ------------------------------------------------------


def test_by_design_overlaps_load_and_one_more_is_refused(tmp_path: Path) -> None:
    # Given a mirror of a library (its tree IS the library), a mirror of a part of a library,
    # a library living on its own local target, and two libraries sharing an archive folder
    inbox, camera, library, family, root, disk = _folders(
        tmp_path, "inbox", "camera", "library", "family", "backup", "disk")
    raw = {"sources": {"inbox": {"path": str(inbox), "library": "main"},
                       "camera": {"path": str(camera), "library": "family"}},
           "libraries": {"main": {"path": str(library), "duplicates": "archive",
                                  "archive_path": str(tmp_path / "dupes")},
                         "family": {"path": str(family), "duplicates": "archive",
                                    "archive_path": str(tmp_path / "dupes")},
                         "offsite": {"path": "offsite", "target": "disk"}},
           "targets": {"backup": {"kind": "local", "root": str(root)},
                       "part": {"kind": "local", "root": str(tmp_path / "part")},
                       "disk": {"kind": "local", "root": str(disk)}},
           "mirrors": {"nightly": {"library": "main", "target": "backup"},
                       "often": {"library": "main", "target": "backup", "every": "6h"},
                       "family": {"source_path": str(family), "target": "part"}}}
    # When built / Then it loads
    settings = _build(tmp_path, raw)
    assert set(settings.mirrors) == {"nightly", "often", "family"}
    # … and a source inside the mirrored family library, on top of them, is refused
    (family / "upload").mkdir()
    raw["sources"]["upload"] = {"path": str(family / "upload"), "library": "family"}
    assert (f"[sources.upload] path ({family / 'upload'}) lies inside [libraries.family] path "
            f"({family})") in _refused(tmp_path, raw)


def test_the_same_path_on_two_hosts_is_two_folders(tmp_path: Path) -> None:
    # Given two machines, each with its own inbox at the same path and its own library
    inbox, library = _folders(tmp_path, "inbox", "library")
    raw = {"sources": {"a": {"path": str(inbox), "library": "la"},
                       "b": {"path": str(inbox), "library": "lb"}},
           "libraries": {"la": {"path": str(library)}, "lb": {"path": str(library / "b")}},
           "hosts": {"one": {"sources": ["a"], "libraries": ["la"]},
                     "two": {"sources": ["b"], "libraries": ["lb"], "shared": False}}}
    (library / "b").mkdir()
    # When built / Then it loads: no machine reaches both inboxes (or both libraries)
    assert set(_build(tmp_path, raw).sources) == {"a", "b"}
    # … but a host that reaches both is refused
    raw["hosts"]["one"]["sources"] = ["a", "b"]
    raw["hosts"]["one"]["libraries"] = ["la", "lb"]
    assert "[sources.b] path" in _refused(tmp_path, raw)
