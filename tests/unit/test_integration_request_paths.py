"""A request path is refused for white space, control characters, ?, # and backslashes, and kept otherwise."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.integrations.requests import outgoing


@pytest.mark.parametrize("path", ["/a b", "/a\tb", "/a\x00", "/a\x1f", "/a\x7f", "/a?b=1", "/a#top", "/a\\b"])
def test_paths_with_a_character_a_request_line_cannot_carry_are_refused(path: str) -> None:
    with pytest.raises(InvalidArgumentError, match="white space, a control character"):
        outgoing("crm", "GET", path)


@pytest.mark.parametrize("path", ["/contacts/42", "contacts", "/caf\u00e9/%20x", "/a~b!$&'()*+,;=:@-._"])
def test_other_paths_are_sent_as_given_under_one_slash(path: str) -> None:
    expected = path if path.startswith("/") else "/" + path
    assert outgoing("crm", "GET", path).path == expected


def test_a_path_over_the_limit_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="over 2048"):
        outgoing("crm", "GET", "/" + "a" * 2048)
