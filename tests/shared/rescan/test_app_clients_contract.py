"""Contract tests of the PhotoPrism and Immich REST clients against a STAND-IN server.

This is a contract test, not a test against the real apps: tests/shared/app_standin.py is a
small local HTTP server (127.0.0.1, free port) that follows the documented APIs — routes, auth
headers, status codes, the old and new Immich library paths. The tests assert the requests the
server received (method, path, headers, JSON body) and the client's results.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.rescan.clients import ImmichClient, PhotoPrismClient
from tests.shared.rescan.app_standin import AppStandIn


@pytest.fixture
def standin() -> Iterator[AppStandIn]:
    server = AppStandIn().start()
    yield server
    server.stop()


class TestPhotoPrismContract:
    def test_index_posts_the_documented_json_with_the_bearer_token(self, standin):
        # Given PhotoPrism and a valid token
        client = PhotoPrismClient(standin.url, standin.token)
        # When a subfolder is indexed
        result = client.index("2024/05 Holiday", rescan=True, cleanup=False)
        # Then one POST /api/v1/index carried the token and the documented body
        assert [(s.method, s.path) for s in standin.seen] == [("POST", "/api/v1/index")]
        sent = standin.seen[0]
        assert sent.headers["authorization"] == f"Bearer {standin.token}"
        assert sent.headers["content-type"] == "application/json"
        assert sent.body == {"path": "2024/05 Holiday", "rescan": True, "cleanup": False}
        assert (result.ok, result.status, result.retry) == (True, 200, False)
        assert "indexing completed" in result.message

    def test_a_refused_token_is_permanent_and_the_message_never_holds_it(self, standin):
        client = PhotoPrismClient(standin.url, "wrong-secret-token")
        result = client.index("2024")
        assert (result.ok, result.status, result.retry) == (False, 401, False)
        assert "refused" in result.message and "token" in result.message
        assert "wrong-secret-token" not in result.message
        assert "wrong-secret-token" not in repr(client)

    def test_a_server_error_is_retryable(self, standin):
        standin.faults.append(500)
        result = PhotoPrismClient(standin.url, standin.token).index("2024")
        assert (result.ok, result.status, result.retry) == (False, 500, True)

    def test_no_answer_within_the_timeout_is_retryable(self, standin):
        # Given an index that takes longer than the client waits
        standin.faults.append("hang")
        standin.hang_seconds = 1.5
        result = PhotoPrismClient(standin.url, standin.token, timeout=0.3).index("2024")
        assert (result.ok, result.status, result.retry) == (False, 0, True)
        assert "no answer" in result.message

    def test_an_unreachable_server_is_retryable(self, standin):
        url = standin.url
        standin.stop()
        result = PhotoPrismClient(url, standin.token, timeout=2).index("2024")
        assert (result.ok, result.status, result.retry) == (False, 0, True)
        assert "unreachable" in result.message

    def test_check_reports_reachable_and_authorised(self, standin):
        verdict = PhotoPrismClient(standin.url, standin.token).check()
        assert verdict.ok, verdict.message
        assert [(s.method, s.path) for s in standin.seen] == [("GET", "/api/v1/status"),
                                                              ("GET", "/api/v1/config")]
        assert standin.seen[1].headers["authorization"] == f"Bearer {standin.token}"

    def test_check_tells_a_refused_token(self, standin):
        verdict = PhotoPrismClient(standin.url, "nope").check()
        assert not verdict.ok
        assert "HTTP 401" in verdict.message and "token" in verdict.message


class TestImmichContract:
    def test_scan_posts_to_the_library_with_the_api_key_and_accepts_204(self, standin):
        client = ImmichClient(standin.url, standin.api_key)
        result = client.scan_library(standin.library_id)
        assert [(s.method, s.path) for s in standin.seen] == [
            ("POST", f"/api/libraries/{standin.library_id}/scan")]
        assert standin.seen[0].headers["x-api-key"] == standin.api_key
        assert (result.ok, result.status, result.retry) == (True, 204, False)

    def test_an_older_server_is_reached_at_the_old_path_after_a_404(self, standin):
        # Given a server from before /api/libraries
        standin.immich_old_paths = True
        client = ImmichClient(standin.url, standin.api_key)
        # When a scan is requested twice
        first = client.scan_library(standin.library_id)
        second = client.scan_library(standin.library_id)
        # Then the new path answered 404, the old one 204, and the client remembers the old one
        assert [s.path for s in standin.seen] == [
            f"/api/libraries/{standin.library_id}/scan",
            f"/api/library/{standin.library_id}/scan",
            f"/api/library/{standin.library_id}/scan"]
        assert first.ok and second.ok and first.status == 204

    def test_a_refused_key_is_permanent(self, standin):
        result = ImmichClient(standin.url, "secret-but-wrong").scan_library(standin.library_id)
        assert (result.ok, result.status, result.retry) == (False, 401, False)
        assert "API key" in result.message and "secret-but-wrong" not in result.message

    def test_an_unknown_library_is_permanent(self, standin):
        result = ImmichClient(standin.url, standin.api_key).scan_library("not-a-library")
        assert (result.ok, result.retry) == (False, False)
        assert "not-a-library" in result.message

    def test_a_server_error_and_a_timeout_are_retryable(self, standin):
        client = ImmichClient(standin.url, standin.api_key, timeout=0.3)
        standin.faults.extend([503, "hang"])
        standin.hang_seconds = 1.5
        failed = client.scan_library(standin.library_id)
        timed_out = client.scan_library(standin.library_id)
        assert (failed.status, failed.retry) == (503, True)
        assert (timed_out.status, timed_out.retry) == (0, True)

    def test_check_pings_and_reads_the_library_with_the_key(self, standin):
        verdict = ImmichClient(standin.url, standin.api_key).check(standin.library_id)
        assert verdict.ok, verdict.message
        assert [(s.method, s.path) for s in standin.seen] == [
            ("GET", "/api/server/ping"), ("GET", f"/api/libraries/{standin.library_id}")]
        assert standin.seen[1].headers["x-api-key"] == standin.api_key

    def test_check_tells_a_wrong_key_and_an_unknown_library_apart(self, standin):
        wrong_key = ImmichClient(standin.url, "bad").check(standin.library_id)
        unknown = ImmichClient(standin.url, standin.api_key).check("missing-library")
        assert not wrong_key.ok and "HTTP 401" in wrong_key.message
        assert not unknown.ok and "no library 'missing-library'" in unknown.message

    def test_check_works_against_an_older_server(self, standin):
        standin.immich_old_paths = True
        verdict = ImmichClient(standin.url, standin.api_key).check(standin.library_id)
        assert verdict.ok, verdict.message
        assert standin.seen[-1].path == f"/api/library/{standin.library_id}"
