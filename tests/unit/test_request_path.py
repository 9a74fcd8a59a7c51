"""The request path a command's fingerprint hashes: Starlette's `request.url.path`, exactly,
whichever way it is computed (stored fingerprints must not change)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from starlette.requests import Request

from producers.http_commands import request_path

# The plain characters, and some that Starlette quotes or URL parsing changes.
_CHARS = st.sampled_from([*"aZ09_.:~-/", *"?#\\\t\n %;@[]é", "\x00"])


def _request(path: str, host: bytes | None) -> Request:
    headers = [(b"host", host)] if host is not None else []
    server = ("127.0.0.1", 8123) if host is not None else None
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    return Request({**scope, "query_string": b"", "scheme": "http", "server": server})


@given(
    path=st.text(_CHARS, max_size=40).map(lambda rest: "/" + rest),
    host=st.sampled_from([b"127.0.0.1:8123", b"skald.example", b"bad host", None]),
)
@example(path="/inventory/SKU-1/restock", host=b"127.0.0.1:8123")
@example(path="//orders", host=None)
@example(path="/orders/a\tb/confirm", host=b"skald.example")
@example(path="/\t/[", host=None)  # Starlette reads `[` as an IPv6 authority and raises
def test_the_path_is_starlettes(path: str, host: bytes | None) -> None:
    request = _request(path, host)
    try:
        expected = _request(path, host).url.path
    except ValueError:
        expected = path  # no fingerprint could be stored the Starlette way: the raw path
    assert request_path(request) == expected
