"""shared.transfer.release: a user's file is removed only while it still is the file whose bytes
were proven; the check and the removal are race-free, and nothing is ever overwritten."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from shared.errors import PermanentError
from shared.transfer import release as release_module
from shared.transfer.release import (
    Identity,
    give_own_copy,
    hidden_path,
    release_file,
    rename_noreplace,
    restore_interrupted_release,
)

OLD_MTIME_NS = 1_500_000_000_000_000_000


def _photo(path: Path, data: bytes) -> Identity:
    """Write a photo with an old mtime and return its identity, as the hash stage captures it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    return Identity.of(os.stat(path))


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_proven_file_is_released_and_nothing_is_left(tmp_path: Path) -> None:
    # Given a source file, unchanged since it was proven, and its copy elsewhere
    src = tmp_path / "src" / "IMG_1.jpg"
    identity = _photo(src, b"photo")
    copy = tmp_path / "lib" / "IMG_1.jpg"
    _photo(copy, b"photo")
    # When it is released
    done = release_file(str(src), identity, keep=str(copy))
    # Then the source name is gone, no hidden name is left, the copy is untouched
    assert done.status == "released"
    assert _names(src.parent) == []
    assert copy.read_bytes() == b"photo"


def test_another_file_renamed_over_the_source_with_the_same_size_and_mtime_is_kept(
        tmp_path: Path) -> None:
    # Given a proven source, then another photo of the same size and mtime renamed over it
    src = tmp_path / "IMG_1.jpg"
    identity = _photo(src, b"photo A")
    _photo(tmp_path / "incoming.tmp", b"photo B")
    os.rename(tmp_path / "incoming.tmp", src)
    # When the release runs
    done = release_file(str(src), identity)
    # Then the new photo is kept, under its name, byte for byte
    assert done.status == "kept" and "inode" in done.reason
    assert src.read_bytes() == b"photo B"
    assert _names(tmp_path) == ["IMG_1.jpg"]


def test_an_edit_in_place_that_puts_the_old_mtime_back_is_kept(tmp_path: Path) -> None:
    # Given a proven source, edited in place since with its mtime restored (exiftool -P)
    src = tmp_path / "IMG_1.jpg"
    identity = _photo(src, b"original")
    with open(src, "r+b") as handle:
        handle.write(b"EDITED!!")
    os.utime(src, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
    # When the release runs / Then the ctime gives it away and the edit is kept
    done = release_file(str(src), identity)
    assert done.status == "kept" and "ctime" in done.reason
    assert src.read_bytes() == b"EDITED!!"


def test_a_symlink_that_took_the_name_is_kept_and_its_target_untouched(tmp_path: Path) -> None:
    src = tmp_path / "IMG_1.jpg"
    identity = _photo(src, b"photo")
    target = tmp_path / "elsewhere.jpg"
    _photo(target, b"photo")
    src.unlink()
    src.symlink_to(target)
    done = release_file(str(src), identity)
    assert done.status == "kept"
    assert src.is_symlink() and target.read_bytes() == b"photo"


def test_a_destination_that_is_the_source_itself_is_refused_naming_both(tmp_path: Path) -> None:
    # Given a "copy" that is the very same file, reached through a symlinked folder
    src = tmp_path / "src" / "IMG_1.jpg"
    identity = _photo(src, b"the only copy")
    (tmp_path / "lib").symlink_to(tmp_path / "src")
    # When the release relies on it / Then it is refused, naming both, and nothing is removed
    with pytest.raises(PermanentError, match="same file") as refused:
        release_file(str(src), identity, keep=str(tmp_path / "lib" / "IMG_1.jpg"))
    assert str(src) in str(refused.value) and str(tmp_path / "lib") in str(refused.value)
    assert src.read_bytes() == b"the only copy"
    assert _names(src.parent) == ["IMG_1.jpg"]


def test_a_file_changed_after_the_rename_goes_back_without_overwriting_the_new_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a release that is overtaken right after its rename: a writer appends to the file
    # (through a handle it held) and a new photo takes the free name
    src = tmp_path / "IMG_1.jpg"
    identity = _photo(src, b"photo")

    def overtaken(name: str, subject: str = "") -> None:
        if name == "source-renamed":
            with open(hidden_path(str(src)), "ab") as handle:
                handle.write(b" and more")
            src.write_bytes(b"a new photo")

    monkeypatch.setattr(release_module, "crash_point", overtaken)
    # When the release checks the renamed file
    done = release_file(str(src), identity)
    # Then both survive: the new photo under the name, the changed one beside it, nothing hidden
    assert done.status == "kept" and "IMG_1 (2).jpg" in done.reason
    assert src.read_bytes() == b"a new photo"
    assert (tmp_path / "IMG_1 (2).jpg").read_bytes() == b"photo and more"
    assert _names(tmp_path) == ["IMG_1 (2).jpg", "IMG_1.jpg"]


def test_a_release_killed_after_its_rename_is_finished_by_the_next(tmp_path: Path) -> None:
    # Given a source left under its hidden name by a release that was killed
    src = tmp_path / "IMG_1.jpg"
    identity = _photo(src, b"photo")
    copy = tmp_path / "lib.jpg"
    _photo(copy, b"photo")
    os.rename(src, hidden_path(str(src)))
    # When the release runs again / Then it finishes: nothing of it is left
    assert release_file(str(src), identity, keep=str(copy)).status == "released"
    assert _names(tmp_path) == ["lib.jpg"]


def test_a_hidden_leftover_that_is_another_file_is_put_back(tmp_path: Path) -> None:
    # Given a hidden leftover that is not the proven file (another inode)
    src = tmp_path / "IMG_1.jpg"
    identity = _photo(src, b"photo")
    src.unlink()
    _photo(Path(hidden_path(str(src))), b"someone's other photo")
    # When a release of that name runs / Then the file is put back under its name
    assert release_file(str(src), identity).status == "kept"
    assert _names(tmp_path) == ["IMG_1.jpg"]
    assert src.read_bytes() == b"someone's other photo"


def test_restore_puts_an_interrupted_release_back(tmp_path: Path) -> None:
    src = tmp_path / "IMG_1.jpg"
    _photo(src, b"photo")
    os.rename(src, hidden_path(str(src)))
    assert restore_interrupted_release(str(src))
    assert _names(tmp_path) == ["IMG_1.jpg"] and src.read_bytes() == b"photo"


@pytest.mark.parametrize("renameat2", ["renameat2", "link and unlink"])
def test_rename_noreplace_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           renameat2: str) -> None:
    # Given two files, with renameat2 or with the link-then-unlink fallback (NFS)
    if renameat2 != "renameat2":
        monkeypatch.setattr(release_module, "_renameat2", None)
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    # When one is renamed onto the other / Then it fails and both are untouched
    with pytest.raises(FileExistsError):
        rename_noreplace(str(tmp_path / "a"), str(tmp_path / "b"))
    assert (tmp_path / "a").read_bytes() == b"a" and (tmp_path / "b").read_bytes() == b"b"
    # And onto a free name it moves
    rename_noreplace(str(tmp_path / "a"), str(tmp_path / "c"))
    assert _names(tmp_path) == ["b", "c"]


def test_give_own_copy_unshares_a_hard_link(tmp_path: Path) -> None:
    # Given a library name that is a hard link of a source that is being kept
    src = tmp_path / "src.jpg"
    _photo(src, b"verified bytes")
    lib = tmp_path / "lib.jpg"
    os.link(src, lib)
    sha = hashlib.sha256(b"verified bytes").hexdigest()
    # When it is given a copy of its own
    assert give_own_copy(str(lib), str(src), sha, OLD_MTIME_NS)
    # Then it is another inode with the same bytes and mtime, and editing the source no
    # longer edits it
    assert os.stat(lib).st_ino != os.stat(src).st_ino
    assert os.stat(lib).st_mtime_ns == OLD_MTIME_NS
    src.write_bytes(b"edited source")
    assert lib.read_bytes() == b"verified bytes"
    assert _names(tmp_path) == ["lib.jpg", "src.jpg"]
