"""A request to an integration checked before sending: method, path, headers, idempotency key, body, deadline; and the answer."""

from __future__ import annotations

import math
from typing import Any

import pytest

from modules.infrastructure.domain.errors import IntegrationResponseError, InvalidArgumentError
from modules.infrastructure.domain.integrations.requests import MAX_KEY, MAX_PATH, call_deadline, outgoing
from modules.infrastructure.domain.integrations.values import HttpResponse

MAXIMUM = 2_147_483.0


def refused(*args: object, **options: Any) -> str:
    """The message of the ``InvalidArgumentError`` (a ``ValueError`` too) that checking the request raises."""
    with pytest.raises(InvalidArgumentError) as caught:
        outgoing("crm", *args, **options)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


# --- methods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "retryable"), [("get", True), ("Head", True), ("OPTIONS", True), ("delete", True), ("PUT", True), ("post", False), ("patch", False)])
def test_a_method_in_any_case_is_accepted_and_only_idempotent_ones_are_retryable(method: str, retryable: bool) -> None:
    request = outgoing("crm", method, "/contacts")
    assert (request.method, request.retryable) == (method.upper(), retryable)


def test_post_and_patch_with_an_idempotency_key_are_retryable_and_carry_it() -> None:
    request = outgoing("crm", "POST", "/contacts", idempotency_key="evt-42")
    assert request.retryable and request.headers == {"Idempotency-Key": "evt-42"}


@pytest.mark.parametrize("method", ["FETCH", "CONNECT", "TRACE", "", None, 1, b"GET"])
def test_an_unknown_method_is_refused(method: object) -> None:
    assert "is not one of GET, HEAD, OPTIONS, DELETE, PUT, POST, PATCH" in refused(method, "/contacts")


# --- paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "sent"), [("/contacts/42", "/contacts/42"), ("contacts", "/contacts"), ("", "/"), ("/a/%20b/%C3%A9", "/a/%20b/%C3%A9"), ("/v1.2/a..b", "/v1.2/a..b")])
def test_a_path_under_the_base_url_is_kept(path: str, sent: str) -> None:
    assert outgoing("crm", "GET", path).path == sent and outgoing("crm", "GET", path).target == (path and sent)


@pytest.mark.parametrize("path", ["https://evil.example/x", "http://evil.example", "//evil.example/x", "\\\\evil.example\\x", "/redirect?to=https://evil.example"])
def test_a_url_or_another_host_is_refused(path: str) -> None:
    assert "a client talks to its own service only" in refused("GET", path) and "INTEGRATION_CRM_BASE_URL" in refused("GET", path)


@pytest.mark.parametrize("path", ["/a\\b", "/contacts?email=x", "/contacts#top", "/a b", "/a\tb", "/a\nb", "/a\x00", "/a\x7f", "/" + "a" * MAX_PATH])
def test_a_path_with_a_query_fragment_white_space_or_control_character_or_too_long_is_refused(path: str) -> None:
    assert "pass query parameters as params=" in refused("GET", path)


@pytest.mark.parametrize("path", ["/api/../admin", "..", "/a/./b", "/a/%2e%2e/b", "/a/%2E%2e", "/a/.%2E/b", "/a/%2f..%2fb"])
def test_a_dot_segment_that_would_leave_the_base_path_is_refused(path: str) -> None:
    assert "has a . or .. segment" in refused("GET", path)


@pytest.mark.parametrize("path", [None, 42, b"/contacts", ["/contacts"]])
def test_a_path_that_is_not_text_is_refused(path: object) -> None:
    assert "the path is text" in refused("GET", path)


def test_a_long_path_is_cut_short_in_the_message() -> None:
    message = refused("GET", "/" + "x" * 5000)
    assert len(message) < 400


# --- headers --------------------------------------------------------------------------------------


def test_headers_are_sent_as_given() -> None:
    assert outgoing("crm", "GET", "/", headers={"X-Request-Id": "r-1", "Accept": "application/json\t"}).headers == {
        "X-Request-Id": "r-1", "Accept": "application/json\t",
    }


@pytest.mark.parametrize("value", [1, None, b"bytes", "a\nb", "a\rX-Admin: yes", "a\x00", "a\x7f", "café", "a\u2028b"])
def test_a_header_value_that_is_not_one_line_of_ascii_text_is_refused(value: object) -> None:
    assert "the header X-Note must be one line of ASCII text" in refused("GET", "/", headers={"X-Note": value})


@pytest.mark.parametrize("name", ["X Note", "X-Note:", "", "Ünicode", 1, None])
def test_a_bad_header_name_is_refused(name: object) -> None:
    assert "is not an HTTP header name" in refused("GET", "/", headers={name: "v"})


@pytest.mark.parametrize("name", ["Authorization", "authorization", "Host", "Content-Length", "Transfer-Encoding", "Connection", "Idempotency-Key", "idempotency-key"])
def test_a_header_the_client_sets_itself_is_refused(name: str) -> None:
    assert f"the header {name} is set by the client itself" in refused("GET", "/", headers={name: "v"})


def test_the_api_key_header_is_the_client_s_own() -> None:
    assert "the header x-crm-key is set by the client itself" in refused("GET", "/", headers={"x-crm-key": "v"}, credential_header="X-Crm-Key")
    assert outgoing("crm", "GET", "/", headers={"X-Crm-Key": "v"}).headers == {"X-Crm-Key": "v"}  # no API key: a header like any other


@pytest.mark.parametrize("headers", [[("X-Note", "v")], "X-Note: v", 1])
def test_headers_that_are_not_a_mapping_are_refused(headers: object) -> None:
    assert "headers takes a mapping of names to values" in refused("GET", "/", headers=headers)


# --- idempotency keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "k" * (MAX_KEY + 1), "clé", "with space", "a\nb", 42, b"evt-1", ["evt-1"]])
def test_a_bad_idempotency_key_is_refused(key: object) -> None:
    assert f"idempotency_key takes 1 to {MAX_KEY} visible ASCII characters" in refused("POST", "/", idempotency_key=key)


def test_the_longest_idempotency_key_is_accepted() -> None:
    assert outgoing("crm", "POST", "/", idempotency_key="k" * MAX_KEY).headers["Idempotency-Key"] == "k" * MAX_KEY


# --- bodies and parameters ------------------------------------------------------------------------


def test_json_is_encoded_compactly_as_utf8_with_its_content_type() -> None:
    request = outgoing("crm", "POST", "/", json_body={"name": "Zoë", "tags": [1, 2.5, None]})
    assert request.body == '{"name":"Zoë","tags":[1,2.5,null]}'.encode()
    assert request.headers == {"Content-Type": "application/json"}


def test_a_content_type_given_is_kept_and_falsy_json_is_still_sent() -> None:
    request = outgoing("crm", "PATCH", "/", json_body={}, headers={"content-type": "application/merge-patch+json"})
    assert (request.body, request.headers) == (b"{}", {"content-type": "application/merge-patch+json"})
    assert outgoing("crm", "POST", "/", json_body=False).body == b"false"
    assert outgoing("crm", "POST", "/", json_body=0).body == b"0"


def test_content_is_sent_as_bytes() -> None:
    assert outgoing("crm", "PUT", "/", content="héllo").body == "héllo".encode()
    assert outgoing("crm", "PUT", "/", content=bytearray(b"\x00\x01")).body == b"\x00\x01"
    assert outgoing("crm", "PUT", "/", content=memoryview(b"raw")).body == b"raw"
    assert outgoing("crm", "GET", "/").body is None


def _cycle() -> list[object]:
    items: list[object] = []
    items.append(items)
    return items


@pytest.mark.parametrize("body", [object(), {1j}, float("nan"), float("inf"), {"when": math.inf}, _cycle(), {"id": b"bytes"}])
def test_json_that_cannot_be_serialised_is_refused(body: object) -> None:
    assert "json= cannot be sent as JSON" in refused("POST", "/", json_body=body)


def test_json_and_content_together_are_refused() -> None:
    assert "give json= or content=, not both" in refused("POST", "/", json_body={"a": 1}, content=b"{}")


@pytest.mark.parametrize("content", [42, ["a"], {"a": 1}])
def test_content_that_is_not_bytes_or_text_is_refused(content: object) -> None:
    assert "content= takes bytes or text" in refused("POST", "/", content=content)


@pytest.mark.parametrize("params", [[("q", "x")], "q=x", 1])
def test_params_that_are_not_a_mapping_are_refused(params: object) -> None:
    assert "params takes a mapping of query parameters" in refused("GET", "/", params=params)


def test_params_of_text_numbers_booleans_none_or_lists_of_them_are_kept() -> None:
    params = {"q": "Zoë", "page": 2, "ratio": 0.5, "all": True, "skip": None, "id": [1, "2"], "tags": ("a", None)}
    assert outgoing("crm", "GET", "/", params=params).params == params


@pytest.mark.parametrize("value", [object(), {"nested": 1}, b"bytes", [b"x"], ({"a": 1},), {1, 2}])
def test_a_param_value_that_would_go_out_as_its_repr_is_refused(value: object) -> None:
    assert f"the query parameter 'q' takes text, a number, a boolean or None (or a list of them), not {type(value).__name__}" in refused(
        "GET", "/", params={"q": value}
    )


def test_a_param_name_that_is_not_text_is_refused() -> None:
    assert "a query parameter's name is text, not int" in refused("GET", "/", params={1: "x"})


# --- deadline= ------------------------------------------------------------------------------------


def test_a_deadline_is_the_call_s_own_or_the_integration_s() -> None:
    assert call_deadline("crm", None, 30.0) == 30.0
    assert call_deadline("crm", 5, 30.0) == 5.0
    assert call_deadline("crm", 0.25, 30.0) == 0.25
    assert call_deadline("crm", 30, 30.0) == 30.0


@pytest.mark.parametrize("seconds", ["10", 0, -1, -0.5, math.inf, -math.inf, math.nan, 30.5, MAXIMUM + 1, 10**30, True, [5]])
def test_a_deadline_that_is_not_a_positive_number_of_seconds_within_the_integration_s_is_refused(seconds: object) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        call_deadline("crm", seconds, 30.0)
    assert str(caught.value).startswith("crm: deadline= takes seconds above 0 and at most INTEGRATION_CRM_DEADLINE (")


# --- the answer -----------------------------------------------------------------------------------


def answer(content: bytes, content_type: str = "", status: int = 200) -> HttpResponse:
    return HttpResponse("crm", "GET", "/contacts", status, {"content-type": content_type} if content_type else {}, content)


def test_an_answer_reads_as_json_or_text_in_its_charset() -> None:
    assert answer(b'{"id": 7}', "application/json").json() == {"id": 7}
    assert answer("Zoë".encode("latin-1"), 'text/plain; charset="ISO-8859-1"').text == "Zoë"
    assert answer("Zoë".encode(), "text/plain; charset=unknown-charset").text == "Zoë"
    assert answer(b"\xff").text == "\ufffd"
    assert answer(b"", status=204).ok and not answer(b"", status=302).ok


@pytest.mark.parametrize("content", [b"<html>oops</html>", b"", b"\xff\xfe", b"[" * 100_000])
def test_an_answer_that_is_not_json_is_a_response_error(content: bytes) -> None:
    response = answer(content, "application/json", 502)
    with pytest.raises(IntegrationResponseError) as caught:
        response.json()
    error = caught.value
    assert str(error).startswith("crm answered GET /contacts with 502 and a body that is not JSON")
    assert (error.integration, error.method, error.path, error.status, error.response) == ("crm", "GET", "/contacts", 502, response)


def test_an_answer_s_repr_shows_no_body() -> None:
    assert repr(answer(b"secret body")) == "HttpResponse(crm GET /contacts -> 200, 11 bytes)"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/a/..%5cb", "backslash"),
        ("/%00", "control character"),
        ("/a/..;/b", ". or .. segment"),
        ("/%zz", "does not start an escape"),
        ("/%", "does not start an escape"),
        ("/a/%2e%2E/b", ". or .. segment"),
    ],
)
def test_a_path_that_servers_or_proxies_would_read_otherwise_is_refused(path: str, problem: str) -> None:
    assert problem in refused("GET", path)
