"""Which Redis URLs the near cache's subscriber takes, and the credentials it reads from them:
redis-py's spellings, so that one `MOV_REDIS_URL` serves both."""

from __future__ import annotations

import pytest

from mov_adapters.redis.subscriber import Subscriber


class Deaf:
    def message(self, text: str) -> None: ...
    def subscribed(self) -> None: ...
    def lost(self) -> None: ...


SOCKET = "/run/redis.sock"


@pytest.mark.parametrize(
    ("url", "where", "username", "password"),
    [
        ("redis://127.0.0.1/0", ("127.0.0.1", 6379, None, False), None, None),
        ("rediss://u:p%40ss@db.example:6380/2", ("db.example", 6380, None, True), "u", "p@ss"),
        (f"unix://{SOCKET}?db=0", ("", 6379, SOCKET, False), None, None),
        (f"unix://{SOCKET}?db=0&password=p%40ss", ("", 6379, SOCKET, False), None, "p@ss"),
        (f"unix://u:pw@{SOCKET}", ("", 6379, SOCKET, False), "u", "pw"),
    ],
)  # fmt: skip
def test_the_subscriber_reads_where_and_as_whom_from_the_url(url, where, username, password):
    subscriber = Subscriber(url, "changes", Deaf())
    found = (subscriber._host, subscriber._port, subscriber._path, subscriber._tls)
    assert found == where
    assert (subscriber._username, subscriber._password) == (username, password)


@pytest.mark.parametrize("url", ["", "http://127.0.0.1:6379", "redis:///0", "unix://"])
def test_a_url_it_cannot_subscribe_on_is_refused(url):
    """The message is fixed: it never repeats the URL, which may hold a password."""
    with pytest.raises(ValueError, match=r"^the near cache subscribes over redis://, rediss:// "):
        Subscriber(url, "changes", Deaf())
