"""End to end: the web page's rules, as for Flower. Beyond loopback it asks for credentials
(basic auth or a bearer token from a file) on every route but /healthz, and it refuses to start
without any; a change must be a POST from the page itself (a cross-site form is refused)."""

from __future__ import annotations

from tests.e2e.harness import Deployment
from tests.e2e.web_stack import call, start_web

AUTH = "anna:sofa-pw-3c1"
# 127.0.0.2 is loopback to the kernel but not to the rule, which allows only 127.0.0.1,
# localhost and ::1 without credentials: the test stays on this machine and sees the rule.
BEYOND = "127.0.0.2"


def test_beyond_loopback_every_route_but_healthz_needs_credentials(
    deployment: Deployment,
) -> None:
    # Given the page on a non-loopback address, with a password and a token file
    deployment.one_source()
    token_file = deployment.root / "web-token"
    token_file.write_text("tok-5b0e7d\n")
    deployment.top = {"web_token_file": str(token_file)}
    deployment.write_config()
    _web, base = start_web(deployment, BEYOND, env={"MEDIACOURIER_WEB_BASIC_AUTH": AUTH})

    # When routes are asked for without, with wrong, and with the right credentials
    anonymous = {path: call("GET", f"{base}{path}")[0]
                 for path in ("/api/status", "/", "/api/history", "/openapi.json")}
    wrong = call("GET", f"{base}/api/status", auth="anna:guess")
    wrong_token = call("GET", f"{base}/api/status", token="tok-guess")
    by_password = call("GET", f"{base}/api/status", auth=AUTH)
    by_token = call("GET", f"{base}/api/status", token="tok-5b0e7d")

    # Then only the health check answers without them; a browser is asked for basic auth
    assert anonymous == dict.fromkeys(anonymous, 401)
    assert call("GET", f"{base}/healthz")[0] == 200
    assert wrong[0] == 401 and wrong_token[0] == 401
    assert by_password[0] == 200 and by_password[1]["sources"][0]["name"] == "inbox"
    assert by_token[0] == 200
    # … and a POST without them changes nothing
    assert call("POST", f"{base}/api/sources/inbox/pause")[0] == 401
    assert deployment.store().paused() == {}


def test_beyond_loopback_without_credentials_the_page_does_not_start(
    deployment: Deployment,
) -> None:
    # Given a deployment with no web credentials
    deployment.one_source()

    # When the page is started on a non-loopback address
    done = deployment.run_cli("web", "--listen", f"{BEYOND}:8089", timeout=60)

    # Then it refuses in one line naming the option and what to set, with no traceback
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [f'mediacourier: --listen: "{BEYOND}:8089" is not loopback: set '
                     "web_basic_auth (or MEDIACOURIER_WEB_BASIC_AUTH) as 'user:password', "
                     "or web_token_file"], done.stderr


def test_a_change_must_be_a_post_from_the_page_itself(deployment: Deployment) -> None:
    # Given the page with credentials (a browser that stored them sends them everywhere)
    deployment.one_source()
    _web, base = start_web(deployment, BEYOND, env={"MEDIACOURIER_WEB_BASIC_AUTH": AUTH})
    pause = f"{base}/api/sources/inbox/pause"

    # When another site's form posts a pause with the stored credentials, or a link GETs it
    from_elsewhere = call("POST", pause, auth=AUTH, headers={"Origin": "http://evil.example"})
    fetch_metadata = call("POST", pause, auth=AUTH, headers={"Sec-Fetch-Site": "cross-site"})
    by_link = call("GET", pause, auth=AUTH)

    # Then each is refused and nothing is paused
    assert from_elsewhere[0] == 403 and "cross-site" in from_elsewhere[1]["detail"]
    assert fetch_metadata[0] == 403
    assert by_link[0] == 405
    assert deployment.store().paused() == {}

    # When the page itself posts it (its own origin), or a program does (no Origin at all)
    own = call("POST", pause, auth=AUTH, headers={"Origin": base,
                                                  "Sec-Fetch-Site": "same-origin"})
    resumed = call("POST", f"{base}/api/sources/inbox/resume", auth=AUTH)

    # Then both are done
    assert own[0] == 200 and own[1]["paused"] is True
    assert resumed[0] == 200 and resumed[1]["paused"] is False
    assert deployment.store().paused() == {}
    assert [e["event"] for e in deployment.events() if e["event"] in ("paused", "resumed")] \
        == ["paused", "resumed"]
