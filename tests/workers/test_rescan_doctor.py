"""`mediacourier doctor` for rescan targets in containers of a real Docker engine."""

from __future__ import annotations

from tests.e2e.harness import Deployment
from tests.fixtures.dockerd import Dockerd
from tests.workers.cli_helpers import cli, configure
from tests.workers.test_cli import doctor_lines


def test_doctor_one_line_per_container_target(dep: Deployment, dockerd: Dockerd) -> None:
    # Given a Nextcloud container found by compose label, a PhotoPrism one run as uid 1000,
    # one run as uid 4242, which has no passwd entry in the container (docker exec -u 4242
    # works all the same), a target whose container does not exist and one whose user the
    # container lacks
    name = dockerd.run(labels={"com.docker.compose.service": "doctor-nc"})
    docker = {"executor": "docker", "docker_url": dockerd.url}
    configure(dep, **{
        "rescan.nc": {"kind": "nextcloud", "nextcloud_user": "alice",
                      "container_label": "com.docker.compose.service=doctor-nc", **docker},
        "rescan.pp": {"kind": "photoprism", "container": name, "user": "1000", **docker},
        "rescan.uid": {"kind": "photoprism", "container": name, "user": "4242", **docker},
        "rescan.gone": {"kind": "nextcloud", "nextcloud_user": "alice",
                        "container": "doctor-no-such-container", **docker},
        "rescan.wronguser": {"kind": "nextcloud", "nextcloud_user": "alice", "container": name,
                             "user": "apache", **docker},
    })

    # When doctor runs
    done = cli(dep.env(), "doctor")

    # Then each target has one line: found and running as the right user, or why not
    assert done.returncode == 1, done.stdout + done.stderr
    lines = doctor_lines(done.stdout)
    assert lines["rescan nc"][0] == "ok" and lines["rescan nc"][1].endswith("run as www-data")
    assert "doctor-nc" in lines["rescan nc"][1]
    assert lines["rescan pp"] == ("ok", f"container {name!r} on {dockerd.url} found; "
                                        "commands run as photoprism")
    assert lines["rescan uid"] == ("ok", f"container {name!r} on {dockerd.url} found; "
                                         "commands run as uid 4242 (no user name in the "
                                         "container)")
    assert lines["rescan gone"][0] == "FAIL"
    assert "doctor-no-such-container" in lines["rescan gone"][1]
    assert lines["rescan wronguser"][0] == "FAIL" and "apache" in lines["rescan wronguser"][1]
