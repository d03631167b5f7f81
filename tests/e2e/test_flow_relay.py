"""End to end: the Pixel relay as a configured flow, run by `mediacourier flow relay --run` on
real Celery workers with two real Syncthing nodes (the NAS-side folder and the "phone"): five
files to the phone, confirmed there, the next five; archived on the "NAS", compressed with
Pillow, released for deletion from iCloud, temp files cleaned up. A step that cannot run holds
the flow with its reason; a dry run changes nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image

from shared.compress import probe
from tests.e2e.harness import Deployment
from tests.fixtures.syncthing import SyncthingPair


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def lay_photos(corpus_dir: Path, folder: Path) -> dict[str, str]:
    """Ten camera photos, as iCloud's download left them: name -> sha256."""
    chosen = sorted((corpus_dir / "jpg" / "gps").glob("*.jpg"))[:9]
    chosen.append(corpus_dir / "jpg" / "Canon_40D_photoshop_import.jpg")
    folder.mkdir(parents=True, exist_ok=True)
    for photo in chosen:
        shutil.copy2(photo, folder / photo.name)
    return {photo.name: sha256(photo) for photo in chosen}


def lay_video(folder: Path) -> tuple[str, str]:
    """A one-second 320x240 clip as a phone's H.264 MOV, made by Debian's ffmpeg."""
    clip = folder / "VID_0001.mov"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=duration=1:size=320x240:rate=15", "-c:v", "libx264", "-crf", "10",
                    "-pix_fmt", "yuv420p", str(clip)], check=True, timeout=60)
    return clip.name, sha256(clip)


def configure(deployment: Deployment, tables: dict[str, dict[str, Any]],
              steps: list[dict[str, Any]]) -> None:
    deployment.tables = tables
    deployment.write_config()
    with deployment.config_path.open("a") as config:
        for step in steps:
            config.write("\n[[flows.relay.steps]]\n")
            config.writelines(f'{key} = {value!r}\n'.replace("'", '"')
                              for key, value in step.items())


class PhoneWatch(threading.Thread):
    """Looks at both sides of the Syncthing folder every 50 ms while the flow runs: the
    library side, then the phone, each file by its bytes, then the library side again (a file
    still in the library after the phone was read was not yet released there, so the phone had
    no reason to drop it meanwhile: the check below leans on that)."""

    def __init__(self, library: Path, phone: Path) -> None:
        super().__init__(daemon=True)
        self.library, self.phone = library, phone
        self.samples: list[tuple[set[str], dict[str, str], set[str]]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            here = self._library()
            there = {}
            for path in self.phone.glob("*"):
                if path.name.startswith("."):  # Syncthing's temp names while it receives
                    continue
                try:
                    there[path.name] = sha256(path)
                except FileNotFoundError:
                    continue
            self.samples.append((here, there, self._library()))
            time.sleep(0.05)

    def _library(self) -> set[str]:
        return {p.name for p in self.library.glob("*") if not p.name.startswith(".")}


def test_the_pixel_relay_runs_every_step_in_batches_the_phone_confirms(
        deployment: Deployment, syncthing_pair: SyncthingPair, corpus_dir: Path) -> None:
    pair = syncthing_pair
    pair.restart_b()
    root = deployment.root
    # Given ten photos and a video downloaded from iCloud, a day-old temp file the download
    # left, the Pixel's library inside the Syncthing folder it shares with the phone, a NAS
    photos = lay_photos(corpus_dir, root / "icloud")
    video, video_sha = lay_video(root / "icloud")
    photos[video] = video_sha
    stale = root / "icloud" / "IMG_9999.JPG.part"
    stale.write_bytes(b"half a download")
    day_ago = time.time() - 86400
    os.utime(stale, (day_ago, day_ago))
    pixel = pair.a.folder / f"pixel-{deployment.prefix}"
    for folder in (pixel, root / "nas", root / "compressed", root / "icloud-delete"):
        folder.mkdir()
    key_file = root / "syncthing.key"
    key_file.write_text(pair.a.api_key)
    configure(deployment, {
        "sources.inbox": {"path": str(deployment.folder("inbox")), "library": "nas"},
        "libraries.pixel": {"path": str(pixel), "syncthing": "phone"},
        "libraries.nas": {"path": str(root / "nas")},
        "syncthing.phone": {"url": pair.a.url, "api_key_file": str(key_file),
                            "folder_id": pair.folder_id, "folder_path": str(pair.a.folder),
                            "devices": [pair.b.device_id], "poll": "0.5s"},
        "flows.relay": {"from": str(root / "icloud")},
    }, [{"kind": "deliver", "library": "pixel", "batch": 5, "timeout": "10m"},
        {"kind": "archive", "library": "nas"},
        {"kind": "compress", "to": str(root / "compressed"), "image_quality": 50},
        {"kind": "release", "to": str(root / "icloud-delete")},
        {"kind": "cleanup", "folder": str(root / "icloud"), "older_than": "1h"}])
    deployment.start_worker(concurrency=2)
    watch = PhoneWatch(pixel, pair.b.folder / pixel.name)
    watch.start()
    # When the flow is run from the command line
    # (the bounds are for a stuck run, not a slow one: under load Syncthing's rescans and
    # pulls take their time, and that is not what this test is about)
    try:
        done = deployment.run_cli("flow", "relay", "--run", timeout=900)
    except subprocess.TimeoutExpired as stuck:
        status = deployment.run_cli("flow", "relay", "--status")
        raise AssertionError(f"the flow did not finish in {stuck.timeout} s\n{status.stdout}"
                             f"\n{deployment.logs()}\n{pair.a.log_tail()[-2000:]}\n"
                             f"{pair.b.log_tail()[-2000:]}") from None
    finally:
        watch.done.set()
        watch.join()
    # Then it finished every step with no file failed
    assert done.returncode == 0, done.stdout + done.stderr + deployment.logs()
    assert "flow relay: steps 1-5 done, 0 file(s) failed" in done.stdout, done.stdout
    # … the phone had every file, byte for byte, and each batch reached the Pixel's folder
    # only while the phone already held the whole batch before it
    names = sorted(photos)
    batches = [names[:5], names[5:10], names[10:]]
    seen = {name: sha for _, there, _ in watch.samples for name, sha in there.items()}
    assert seen == photos
    for before, after in zip(batches, batches[1:], strict=False):
        later = [there for here, there, here_again in watch.samples
                 if set(before) <= here_again and here & set(after)]
        assert later, f"never saw {after} in the Pixel's folder"
        assert all(set(before) <= set(there) for there in later)
    assert [e["paths"].split(",") for e in deployment.events("flow-delivering")] == batches
    # … the originals wait in the "iCloud delete" folder, the NAS holds the same bytes, the
    # Pixel's folder is empty again, and the download folder holds nothing stale
    assert {name: sha256(root / "icloud-delete" / name) for name in photos} == photos
    assert {name: sha256(root / "nas" / name) for name in photos} == photos
    assert tree(pixel) == {} and tree(root / "icloud") == {}
    # … and each compressed copy decodes, smaller, with the original's dimensions (and the
    # video's duration)
    small_video = probe(root / "compressed" / video)
    assert (small_video.width, small_video.height, small_video.video_codec) == (320, 240, "hevc")
    assert abs(small_video.duration - 1.0) < 0.2
    assert (root / "compressed" / video).stat().st_size < (root / "nas" / video).stat().st_size
    for name in set(photos) - {video}:
        small = root / "compressed" / name
        with Image.open(small) as copy, Image.open(root / "nas" / name) as original:
            copy.load()
            assert copy.size == original.size
        assert small.stat().st_size < (root / "nas" / name).stat().st_size
    # … and --status says every file reached the last step
    status = deployment.run_cli("flow", "relay", "--status")
    assert status.returncode == 0 and "flow relay: done" in status.stdout
    assert "5 cleanup       11 reached" in status.stdout


def test_a_step_that_cannot_run_holds_the_flow_and_a_dry_run_changes_nothing(
        deployment: Deployment, corpus_dir: Path) -> None:
    root = deployment.root
    # Given a relay whose archive is a NAS share that is not mounted
    photos = lay_photos(corpus_dir, root / "icloud")
    (root / "icloud-delete").mkdir()
    configure(deployment, {
        "sources.inbox": {"path": str(deployment.folder("inbox")), "library": "lib"},
        "libraries.lib": {"path": str(deployment.folder("lib"))},
        "flows.relay": {"from": str(root / "icloud")},
    }, [{"kind": "archive", "to": str(root / "nas-share")},
        {"kind": "release", "to": str(root / "icloud-delete")}])
    before = tree(root / "icloud")
    # When a dry run is asked for
    dry = deployment.run_cli("flow", "relay", "--run", "--dry-run")
    # Then it lists the ten photos for both steps and changes nothing
    assert dry.returncode == 0, dry.stderr
    assert "would take 10 new file(s)" in dry.stdout
    assert "step 2 release" in dry.stdout and "dry run: nothing was changed" in dry.stdout
    assert tree(root / "icloud") == before and tree(root / "icloud-delete") == {}
    assert not deployment.events()
    # When the flow runs on a worker
    deployment.start_worker(concurrency=1)
    held = deployment.run_cli("flow", "relay", "--run", timeout=60)
    # Then it is held at step 1 with the reason (exit 3), and no photo moved
    assert held.returncode == 3, held.stdout + held.stderr
    assert "flow relay HELD: step 1 archive" in held.stdout
    assert "nas-share does not exist (not mounted?)" in held.stdout
    assert {name: sha256(root / "icloud" / name) for name in photos} == photos
    assert tree(root / "icloud-delete") == {} and not (root / "nas-share").exists()
    # … and both `flow --status` and `status` show the hold
    status = deployment.run_cli("flow", "relay", "--status")
    assert "HELD since" in status.stdout and "nas-share does not exist" in status.stdout
    overall = deployment.run_cli("status")
    assert "flow relay" in overall.stdout and "HELD" in overall.stdout
