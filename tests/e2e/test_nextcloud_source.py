"""End to end: a nextcloud source followed by the real watcher and workers while its users come
and go, each user's photos landing under `{user}/` in the library, byte for byte."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.e2e.corpus import sha256
from tests.e2e.harness import Deployment, wait_for
from tests.shared.source.nextcloud_helpers import make_data_dir

UP = "files/InstantUpload"


def _library_files(library: Path) -> dict[str, str]:
    return {p.relative_to(library).as_posix(): sha256(p) for p in library.rglob("*")
            if p.is_file()}


def test_users_are_followed_while_they_come_and_go(deployment: Deployment,
                                                    corpus_dir: Path) -> None:
    # Given a Nextcloud data directory with alice and bob (each with a photo already there,
    # and appdata previews that must never be carried), laid out per user in the library
    data = make_data_dir(deployment.root, {"alice": [UP], "bob": [UP]})
    photos = sorted((corpus_dir / "jpg").glob("*.jpg"))[:6]
    shutil.copy2(photos[0], data / "alice" / UP / photos[0].name)
    shutil.copy2(photos[1], data / "bob" / UP / photos[1].name)
    library = deployment.folder("lib")
    deployment.tables = {
        "sources.nc": {"path": str(data), "library": "lib", "kind": "nextcloud",
                       "stability": "0.3s"},
        "libraries.lib": {"path": str(library), "layout": "{user}/{name}"},
    }
    deployment.write_config()
    expected = {f"alice/{photos[0].name}": sha256(photos[0]),
                f"bob/{photos[1].name}": sha256(photos[1])}

    # When a worker and the watcher run
    deployment.start_worker()
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
    # Then the photos already there arrive under their user's folder (the catch-up scan)
    wait_for(lambda: _library_files(library) == expected, 60, "alice's and bob's first photos")

    # When both upload while it runs
    shutil.copy2(photos[2], data / "alice" / UP / photos[2].name)
    shutil.copy2(photos[3], data / "bob" / UP / photos[3].name)
    expected |= {f"alice/{photos[2].name}": sha256(photos[2]),
                 f"bob/{photos[3].name}": sha256(photos[3])}
    wait_for(lambda: _library_files(library) == expected, 60, "the live uploads")

    # When carol logs in for the first time (her folder made while the watcher runs), uploads,
    # and bob's account is deleted
    (data / "carol" / UP).mkdir(parents=True)
    wait_for(lambda: "found Nextcloud user carol" in watcher.output(), 30,
             "the watcher to find carol")
    shutil.copy2(photos[4], data / "carol" / UP / photos[4].name)
    shutil.rmtree(data / "bob")
    expected[f"carol/{photos[4].name}"] = sha256(photos[4])
    # Then carol's photo arrives without a restart, and bob's watch stops cleanly
    wait_for(lambda: len(deployment.events("ingested")) == len(expected), 60, "carol's photo")
    assert _library_files(library) == expected
    wait_for(lambda: "stopped watching user bob" in watcher.output(), 30, "bob's watch to stop")
    assert watcher.alive()
    assert not re.search(r"ERROR|Traceback", watcher.output()), watcher.output()[-3000:]
    # … appdata's preview was never carried, nothing failed, and the uploads were moved out
    assert not deployment.events("failed")
    assert (data / "appdata_oc1x2y3z/preview/1/2/4096-4096-max.jpg").exists()
    assert not any((data / "alice" / UP).iterdir()) and not any((data / "carol" / UP).iterdir())

    # When status, history --user and doctor are asked
    status = deployment.run_cli("status")
    history = deployment.run_cli("history", "--user", "carol", "--format", "json")
    doctor = deployment.run_cli("doctor")
    # Then status counts per user, history lists carol's file alone, doctor names the users
    assert status.returncode == 0, status.stderr
    assert re.search(r"nc alice\s*│\s*2 ingested", status.stdout), status.stdout
    assert re.search(r"nc carol\s*│\s*1 ingested", status.stdout), status.stdout
    assert history.returncode == 0, history.stderr
    assert [(e["event"], e["path"]) for e in json.loads(history.stdout)] == [
        ("ingested", f"carol/{UP}/{photos[4].name}")]
    assert "source nc (users): users alice, carol" in doctor.stdout, doctor.stdout
