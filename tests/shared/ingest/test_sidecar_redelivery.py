"""A sidecar lands beside its image once, whatever happens to the image meanwhile and however
often the sidecar's own message is delivered.

The soak found one sidecar twice in the library: `IMG_0056.xmp` arrived beside `IMG_0056.jpg`, a
duplicate of `copy 000 of IMG_0056.jpg` placed earlier. While the image's delivery had deleted
its source (a duplicate) but not yet recorded it, the sidecar found neither the image in the
source nor a record of it, and went where the layout puts an orphan; its worker died after the
link, and its next delivery, the image recorded by then, placed it again beside the image's
copy: two names for one sidecar."""

from __future__ import annotations

import os

from shared.ingest.leases import file_lease
from shared.ingest.pipeline import STAGES, run_all, run_stage
from shared.jobs import FileJob, Outcome
from tests.shared.ingest.trees import tree
from tests.shared.rig import Rig

HOLDER, IMAGE, SIDECAR = "trips/copy 000 of IMG_0056.jpg", "IMG_0056.jpg", "IMG_0056.xmp"
PAIRED = "trips/copy 000 of IMG_0056.xmp"  # beside the library copy of the image's content


def _stages(job: FileJob, rig: Rig, names: tuple[str, ...], lock: bool = True) -> FileJob:
    """The named stages in order; lock=False: the caller holds the file's lease."""
    for name, _ in STAGES:
        if name in names:
            job = run_stage(name, job, rig.ctx, lock=lock)
    return job


def test_a_sidecar_pairs_with_a_duplicate_image_deleted_not_yet_journaled(make_rig) -> None:
    # Given an image whose content the library holds already, and its sidecar
    rig: Rig = make_rig(duplicates="delete")
    photo, xmp = os.urandom(16_956), b"<x:xmpmeta><!-- IMG_0056.jpg --></x:xmpmeta>"
    rig.put(HOLDER, photo)
    assert rig.ingest(HOLDER).outcome == Outcome.INGESTED
    rig.put(IMAGE, photo)
    rig.put(SIDECAR, xmp)
    image = FileJob("cam", IMAGE)
    with file_lease(image, rig.ctx):
        # … the image's delivery past its source's deletion, its outcome not journaled yet
        image = _stages(image, rig, ("hash_file", "claim_content"), lock=False)
        assert image.outcome == Outcome.DUPLICATE and not (rig.src / IMAGE).exists()
        # When the sidecar is ingested meanwhile
        done = run_all(FileJob("cam", SIDECAR), rig.ctx)
        run_stage("record_outcome", image, rig.ctx, lock=False)
    # Then the sidecar is in the library once, beside the image's library copy
    assert (done.outcome, done.dest_path) == (Outcome.INGESTED, PAIRED)
    assert [rel for rel, data in tree(rig.lib).items() if data == xmp] == [PAIRED]
    assert tree(rig.src) == {}


def test_a_sidecar_pairs_with_an_image_verified_and_released_not_yet_recorded(
        make_rig) -> None:
    # Given an image that lands under a numbered name (another file holds its own), and its
    # sidecar
    rig: Rig = make_rig()
    photo, xmp = os.urandom(16_956), b"<x:xmpmeta><!-- IMG_0056.jpg --></x:xmpmeta>"
    (rig.lib / IMAGE).write_bytes(os.urandom(2_000))
    rig.put(IMAGE, photo)
    rig.put(SIDECAR, xmp)
    image = FileJob("cam", IMAGE)
    with file_lease(image, rig.ctx):
        # … the image verified and its source released, its outcome not recorded yet
        image = _stages(image, rig, ("hash_file", "claim_content", "transfer_file",
                                     "verify_copy"), lock=False)
        assert image.dest_path == "IMG_0056 (2).jpg" and not (rig.src / IMAGE).exists()
        # When the sidecar is ingested meanwhile
        done = run_all(FileJob("cam", SIDECAR), rig.ctx)
    # Then it lands beside the image's copy at once (its verified record names it), not
    # where an orphan would
    assert (done.outcome, done.dest_path) == (Outcome.INGESTED, "IMG_0056 (2).xmp")
    assert [rel for rel, data in tree(rig.lib).items() if data == xmp] == ["IMG_0056 (2).xmp"]


def test_a_sidecar_delivered_again_after_its_link_lands_once(make_rig) -> None:
    # Given a duplicate image and its sidecar, the image between its release and its record
    rig: Rig = make_rig(duplicates="delete")
    photo, xmp = os.urandom(16_956), b"<x:xmpmeta><!-- IMG_0056.jpg --></x:xmpmeta>"
    rig.put(HOLDER, photo)
    assert rig.ingest(HOLDER).outcome == Outcome.INGESTED
    rig.put(IMAGE, photo)
    rig.put(SIDECAR, xmp)
    image = FileJob("cam", IMAGE)
    with file_lease(image, rig.ctx):
        image = _stages(image, rig, ("hash_file", "claim_content"), lock=False)
        assert image.outcome == Outcome.DUPLICATE and not (rig.src / IMAGE).exists()
        # When the sidecar's first delivery gets as far as it can (its worker then killed)
        _stages(FileJob("cam", SIDECAR), rig, ("hash_file", "claim_content", "transfer_file"))
        # … the image is recorded, and the sidecar's message is delivered again
        run_stage("record_outcome", image, rig.ctx, lock=False)
    done = run_all(FileJob("cam", SIDECAR), rig.ctx)
    # Then the library holds the sidecar once, beside the image's copy
    assert done.outcome == Outcome.INGESTED
    assert [rel for rel, data in tree(rig.lib).items() if data == xmp] == [PAIRED]
