"""Hostile names and odd files through a real worker running as an unprivileged user."""

from __future__ import annotations

import os

from tests.e2e.harness import Deployment, wait_for

NAMES = [
    "Ünïcødé 写真.jpg",
    "with  spaces .jpg",
    "new\nline.jpg",
    "-rf --no-preserve-root.jpg",
    ("x" * 251) + ".jpg",  # 255 bytes, the longest name a Linux filesystem allows
]


def test_hostile_names_and_odd_files_each_get_a_clear_outcome(deployment: Deployment) -> None:
    # Given a worker and a watcher that file permissions apply to, and a source full of trouble
    source, library = deployment.one_source("up", stability="0.3s")
    payloads = {name: os.urandom(1000 + i) for i, name in enumerate(NAMES)}
    for name, data in payloads.items():
        (source / name).write_bytes(data)
    (source / "empty.jpg").write_bytes(b"")
    (source / "secret.jpg").write_bytes(b"root only")
    (source / "secret.jpg").chmod(0o000)
    os.symlink("/etc/passwd", source / "passwd.jpg")
    os.mkfifo(source / "pipe.jpg")
    deployment.restricted = True
    worker = deployment.start_worker()
    deployment.start_watcher()

    # When everything has been through the pipeline
    expected = len(NAMES) + 4
    wait_for(lambda: len(deployment.events("ingested")) + len(deployment.events("failed"))
             + len(deployment.events("empty")) >= expected, 60, "an outcome for every file")

    # Then good files arrived byte-identical under their own names, sources released
    for name, data in payloads.items():
        assert (library / name).read_bytes() == data, repr(name)
        assert not (source / name).exists()
    # … an empty photo is held as empty: left in place, not carried into the library
    assert [e["path"] for e in deployment.events("empty")] == ["empty.jpg"]
    assert (source / "empty.jpg").read_bytes() == b"" and not (library / "empty.jpg").exists()
    # … and each odd file failed with a reason naming it, left where it was
    failed = {e["path"]: e["reason"] for e in deployment.events("failed")}
    assert "secret.jpg" in failed["secret.jpg"] and "Permission denied" in failed["secret.jpg"]
    assert "symbolic link" in failed["passwd.jpg"]
    assert "FIFO" in failed["pipe.jpg"]
    assert (source / "secret.jpg").read_bytes() == b"root only"
    assert os.path.islink(source / "passwd.jpg") and (source / "pipe.jpg").exists()
    assert not (library / "passwd.jpg").exists()
    # … they are listed as failures for `status`, and the worker is still alive
    reasons = {f["path"] for f in deployment.store().failures()}
    assert reasons == {"secret.jpg", "passwd.jpg", "pipe.jpg"}
    assert worker.alive()
