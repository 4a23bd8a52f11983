"""The API shell over HTTP (chalice.test with the local Gateway Responses): errors are problem+json."""

from __future__ import annotations

from typing import Any

from chalicelib.core.problems import PROBLEM_CONTENT_TYPE


def test_unknown_path_is_a_404_problem(api: Any) -> None:
    response = api.get("/no/such/route")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json_body == {
        "type": "urn:btrix:problem:not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No route matches this path.",
        "instance": "/no/such/route",
    }


def test_wrong_method_is_a_405_problem_with_allow(api: Any) -> None:
    response = api.delete("/health")
    assert response.status_code == 405
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["Allow"] == "GET"
    assert response.json_body["type"] == "urn:btrix:problem:method-not-allowed"


def test_unknown_path_with_a_bearer_token_is_still_a_404(api: Any) -> None:
    response = api.get("/nope", headers={"Authorization": "Bearer abc"})
    assert response.status_code == 404
    assert response.json_body["title"] == "Not found"
