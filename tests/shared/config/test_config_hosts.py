"""`[hosts.*]`: parsing, validation (one-line errors), queue names and routing decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings, build_settings, load_settings
from shared.config.queues import all_queues, queue_for, routing_rows, worker_queues
from shared.errors import ConfigError


def two_host_config(root: Path, **hosts: dict[str, Any]) -> dict[str, Any]:
    """An upload server with the inbox, a NAS with the library and the rescan target."""
    for folder in ("inbox", "lib", "scans"):
        (root / folder).mkdir(exist_ok=True)
    return {
        "key_prefix": "mc",
        "sources": {"inbox": {"path": "inbox", "library": "lib"},
                    "scans": {"path": "scans", "library": "lib"}},
        "libraries": {"lib": {"path": "lib", "rescan": ["app"]}},
        "rescan": {"app": {"command": ["index", "{folder}"]}},
        "hosts": hosts or {
            "upload": {"sources": ["inbox"], "libraries": ["lib"], "shared": False},
            "nas": {"sources": ["scans"], "libraries": ["lib"], "rescan": ["app"]},
        },
    }


def build(root: Path, raw: dict[str, Any]) -> Settings:
    return build_settings(raw, root / "mediacourier.toml", root)


def test_hosts_are_read_with_what_they_reach(tmp_path: Path) -> None:
    # Given two hosts / When built
    settings = build(tmp_path, two_host_config(tmp_path))
    # Then each host lists what it reaches, and 'shared' defaults to true
    assert list(settings.hosts) == ["upload", "nas"]
    assert settings.hosts["upload"].sources == ("inbox",)
    assert settings.hosts["upload"].shared is False
    assert settings.hosts["nas"].rescan == ("app",) and settings.hosts["nas"].shared is True


def test_without_hosts_there_is_one_queue_named_after_the_prefix(tmp_path: Path) -> None:
    # Given the config without [hosts]
    raw = two_host_config(tmp_path)
    del raw["hosts"]
    settings = build(tmp_path, raw)
    # Then there is one queue and every task goes there, as before
    assert not settings.hosts
    assert all_queues(settings) == ["mc"]
    assert queue_for(settings, "mediacourier.hash_file", [{"source": "inbox"}]) == "mc"
    assert worker_queues(settings, None) == ["mc"]
    with pytest.raises(ConfigError, match="no \\[hosts.NAME\\] tables"):
        worker_queues(settings, "nas")


def test_queue_names_and_routing(tmp_path: Path) -> None:
    settings = build(tmp_path, two_host_config(tmp_path))
    assert all_queues(settings) == ["mc", "mc.upload.files", "mc.upload.rescan",
                                    "mc.nas.files", "mc.nas.rescan"]
    job = {"source": "inbox", "rel_path": "a.jpg"}
    # File stages go to the host of the file's source (and library)
    for stage in ("hash_file", "claim_content", "transfer_file", "verify_copy"):
        assert queue_for(settings, f"mediacourier.{stage}", [job]) == "mc.upload.files"
    assert queue_for(settings, "mediacourier.hash_file", [{"source": "scans"}]) == "mc.nas.files"
    # Reconciles and batches walk the source: its host too; by positional or keyword argument
    assert queue_for(settings, "mediacourier.reconcile", ["inbox"]) == "mc.upload.files"
    assert queue_for(settings, "mediacourier.reconcile", [], {"source": "scans"}) == \
        "mc.nas.files"
    assert queue_for(settings, "mediacourier.ingest_batch", ["scans", []]) == "mc.nas.files"
    # Rescans go to the host listing the target
    assert queue_for(settings, "mediacourier.flush_rescans", ["app"]) == "mc.nas.rescan"
    # Redis-only stages, the manual trigger, unknown tasks and unknown sources: shared
    for task in ("request_rescan", "record_outcome", "ingest", "something_new"):
        assert queue_for(settings, f"mediacourier.{task}", [job]) == "mc"
    assert queue_for(settings, "mediacourier.hash_file", [{"source": "nope"}]) == "mc"


def test_a_worker_consumes_exactly_its_hosts_queues(tmp_path: Path) -> None:
    settings = build(tmp_path, two_host_config(tmp_path))
    assert worker_queues(settings, "upload") == ["mc.upload.files", "mc.upload.rescan"]
    assert worker_queues(settings, "nas") == ["mc.nas.files", "mc.nas.rescan", "mc"]
    assert worker_queues(settings, "nas", ["rescan"]) == ["mc.nas.rescan"]
    with pytest.raises(ConfigError, match="--host: no \\[hosts.pc\\]"):
        worker_queues(settings, "pc")
    with pytest.raises(ConfigError, match="say which this worker is with --host"):
        worker_queues(settings, None)
    with pytest.raises(ConfigError, match="shared = false"):
        worker_queues(settings, "upload", ["shared"])


def test_routing_rows_name_each_sources_queue(tmp_path: Path) -> None:
    rows = dict(routing_rows(build(tmp_path, two_host_config(tmp_path))))
    assert rows["mc.upload.files"] == "source inbox"
    assert rows["mc.nas.files"] == "source scans"
    assert rows["mc.nas.rescan"] == "rescan app"
    assert rows["mc.upload.rescan"] == "-"
    assert rows["mc"].startswith("shared work")


def test_the_first_host_reaching_source_and_library_gets_the_work(tmp_path: Path) -> None:
    # Given two hosts listing the inbox, only the second also reaching the library
    raw = two_host_config(tmp_path, a={"sources": ["inbox", "scans"]},
                          b={"sources": ["inbox", "scans"], "libraries": ["lib"],
                             "rescan": ["app"]})
    settings = build(tmp_path, raw)
    # Then the work goes to the one that can copy the file
    assert queue_for(settings, "mediacourier.transfer_file", [{"source": "inbox"}]) == \
        "mc.b.files"


@pytest.mark.parametrize(("hosts", "message"), [
    ({"upload": {"sources": ["inbox"], "libraries": ["lib"], "rescan": ["app"]}},
     r"\[sources\.scans\]: no \[hosts\.\*\] table lists it in 'sources'"),
    ({"upload": {"sources": ["inbox", "scans"], "rescan": ["app"]}},
     r"\[sources\.inbox\]: no \[hosts\.\*\] table lists both it and its library 'lib'"),
    ({"upload": {"sources": ["inbox", "scans"], "libraries": ["lib"]}},
     r"\[rescan\.app\]: no \[hosts\.\*\] table lists it in 'rescan'"),
    ({"upload": {"sources": ["inbox", "scans"], "libraries": ["lib"], "rescan": ["app"],
                 "shared": False}}, r"at least one must take the tasks that can run anywhere"),
    ({"upload": {"sources": ["inbox", "scans", "phone"], "libraries": ["lib"]}},
     r'\[hosts\.upload\] sources: no \[sources\.\*\] entry named "phone"'),
    ({"upload": {"sources": ["inbox"], "librarys": ["lib"]}},
     r"\[hosts\.upload\] librarys: unknown key; did you mean 'libraries'\?"),
    ({"up.load": {"sources": ["inbox"]}}, r"\[hosts\.up\.load\]: a host name may use letters"),
    ({"upload": {"sources": "inbox"}}, r'\[hosts\.upload\] sources: expected a list, got "inbox"'),
])
def test_bad_hosts_are_one_line_errors_naming_file_and_key(
    tmp_path: Path, hosts: dict[str, Any], message: str
) -> None:
    raw = two_host_config(tmp_path, **hosts)
    with pytest.raises(ConfigError, match=message) as caught:
        build(tmp_path, raw)
    assert str(caught.value).startswith(str(tmp_path / "mediacourier.toml"))
    assert "\n" not in str(caught.value)


def test_a_named_host_need_not_have_the_other_hosts_folders(tmp_path: Path) -> None:
    # Given a config file naming a scans folder that exists only on the NAS
    raw_path = tmp_path / "mediacourier.toml"
    (tmp_path / "inbox").mkdir()
    (tmp_path / "lib").mkdir()
    raw_path.write_text(
        'key_prefix = "mc"\n'
        '[sources.inbox]\npath = "inbox"\nlibrary = "lib"\n'
        '[sources.scans]\npath = "scans"\nlibrary = "lib"\n'
        '[libraries.lib]\npath = "lib"\n'
        '[hosts.upload]\nsources = ["inbox"]\nlibraries = ["lib"]\n'
        '[hosts.nas]\nsources = ["scans"]\nlibraries = ["lib"]\n')
    # When loaded as the upload server (MEDIACOURIER_HOST), the missing folder is not checked
    settings = load_settings(str(raw_path), env={"MEDIACOURIER_HOST": "upload"}, cwd=tmp_path)
    assert settings.hosts.local == "upload"
    # … but as the NAS, or as no host in particular, it is
    for env in ({"MEDIACOURIER_HOST": "nas"}, {}):
        with pytest.raises(ConfigError, match=r"\[sources\.scans\] path: folder .* does not exist"):
            load_settings(str(raw_path), env=env, cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"host: no \[hosts\.pc\] table"):
        load_settings(str(raw_path), env={"MEDIACOURIER_HOST": "pc"}, cwd=tmp_path)


def test_a_library_on_a_remote_target_is_reached_through_that_target(tmp_path: Path) -> None:
    # Given a library that lives on an SSH target, and a relay host that reaches that target
    raw = two_host_config(tmp_path)
    (tmp_path / "id_ed25519").write_text("not read while parsing\n")
    (tmp_path / "known_hosts").write_text("")
    raw["targets"] = {"box": {"kind": "sftp", "host": "box.lan", "user": "u",
                              "key_file": "id_ed25519", "known_hosts": "known_hosts",
                              "root": "/photos"}}
    raw["libraries"]["lib"] = {"path": "lib", "target": "box", "rescan": ["app"]}
    raw["hosts"] = {
        "pc": {"sources": ["inbox", "scans"], "libraries": ["lib"]},
        "relay": {"sources": ["inbox", "scans"], "targets": ["box"], "rescan": ["app"]},
    }
    settings = build(tmp_path, raw)
    # Then the file stages go to the host that reaches the target, not the one listing the name
    assert queue_for(settings, "mediacourier.transfer_file", [{"source": "inbox"}]) == \
        "mc.relay.files"
    # … and without such a host the configuration is refused, naming the target
    raw["hosts"] = {"pc": {"sources": ["inbox", "scans"], "libraries": ["lib"],
                           "rescan": ["app"]}}
    with pytest.raises(ConfigError, match="lists both it and its target 'box'"):
        build(tmp_path, raw)


def test_a_mirror_runs_on_the_host_that_lists_it(tmp_path: Path) -> None:
    # Given a mirror of the library to a backup disk only the NAS has
    raw = two_host_config(tmp_path)
    (tmp_path / "backup").mkdir()
    raw["targets"] = {"disk": {"kind": "local", "root": "backup"}}
    raw["mirrors"] = {"nightly": {"library": "lib", "target": "disk"}}
    raw["hosts"]["nas"]["mirrors"] = ["nightly"]
    raw["hosts"]["nas"]["targets"] = ["disk"]
    settings = build(tmp_path, raw)
    # When a mirror task is routed / Then it goes to the NAS's files queue
    assert queue_for(settings, "mediacourier.mirror", ["nightly"]) == "mc.nas.files"
    assert queue_for(settings, "mediacourier.mirror", [], {"name": "nightly"}) == "mc.nas.files"
    # and a mirror no host lists falls back to the shared queue, where the task refuses it
    assert queue_for(settings, "mediacourier.mirror", ["nope"]) == "mc"
