"""End to end: `mediacourier up` serves the web page (behind a path prefix here), its
processes keep their log lines for the page's logs, and Ctrl-C stops the page with the rest."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.state.redis_server import free_port
from tests.e2e.harness import wait_for
from tests.e2e.up_stack import UpStack, is_gone, write_config
from tests.e2e.web_stack import call


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[UpStack]:
    up = UpStack(tmp_path)
    yield up
    up.cleanup()


def test_up_serves_the_page_under_its_prefix_and_stops_it_on_ctrl_c(
    stack: UpStack, tmp_path: Path, corpus_dir: Path
) -> None:
    # Given `up` with the page on a free port under /mediacourier (as behind a reverse proxy)
    write_config(tmp_path, free_port(), free_port())
    port = free_port()
    config = tmp_path / "mediacourier.toml"
    config.write_text(f'web_listen = "127.0.0.1:{port}"\nweb_root_path = "/mediacourier"\n'
                      + config.read_text())

    # When it is up and a photo lands
    stack.start()
    stack.wait_ready()
    base = f"http://127.0.0.1:{port}/mediacourier"
    assert f"  web       {base}/" in stack.output()
    photo = corpus_dir / "jpg" / "Nikon_D70.jpg"
    (tmp_path / "inbox" / "D70.jpg").write_bytes(photo.read_bytes())
    wait_for(lambda: (tmp_path / "library" / "D70.jpg").exists(), 60, "the photo")

    # Then the page answers under the prefix, counting the photo, with links that keep it
    wait_for(lambda: call("GET", f"{base}/healthz")[0] == 200, 30, "the page of up")
    status, data = call("GET", f"{base}/api/status")
    assert status == 200 and data["sources"][0]["today"] == 1
    status, page = call("GET", f"{base}/")
    assert status == 200 and 'href="/mediacourier/files"' in page
    assert 'src="/mediacourier/thumbs/library/D70.jpg"' in page
    # … and the page's logs show the lines of up's children, each from its own file
    wait_for(lambda: {"worker", "watcher", "web"} <= set(call("GET", f"{base}/api/logs")[1]),
             30, "the children's log files")
    logs = call("GET", f"{base}/api/logs")[1]
    assert any("D70.jpg" in line for line in logs["worker"]), logs["worker"][-5:]

    # When Ctrl-C reaches up
    web = next(p for p in stack.stack if p.pid == stack.child_pid("web"))
    stack.signal(signal.SIGINT)

    # Then the page stops with everything else, and up exits 0
    assert stack.popen is not None
    assert stack.popen.wait(timeout=90) == 0, stack.output()[-3000:]
    assert is_gone(web)
