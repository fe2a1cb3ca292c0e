"""Unsubscribe links: a token names one user and one notification type, and only tokens this
secret signed, unaltered, are accepted."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mov_adapters.security.unsubscribe import SignedUnsubscribeLinks
from mov_core.domain.notifications import NotificationType

SECRET = "an-unsubscribe-secret-of-at-least-32-bytes"
BASE = "https://mov.example.org"


def links(secret: str | bytes = SECRET, base_url: str = BASE) -> SignedUnsubscribeLinks:
    return SignedUnsubscribeLinks(secret, base_url)


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


@given(
    user_id=st.integers(min_value=1, max_value=2**63 - 1), kind=st.sampled_from(NotificationType)
)
def test_every_link_verifies_back_to_its_user_and_type(user_id: int, kind: NotificationType):
    signer = links()

    assert signer.verify(token_of(signer.url(user_id, kind))) == (user_id, kind)


def test_the_url_points_at_the_unsubscribe_endpoint_of_the_base_url():
    url = links(base_url=f"{BASE}/").url(7, NotificationType.EVENT_REMINDER)

    assert url.startswith(f"{BASE}/api/v1/notifications/unsubscribe?token=")


def test_a_bytes_secret_signs_like_the_same_text():
    url = links(SECRET).url(7, NotificationType.WAITLISTED)

    assert links(SECRET.encode()).verify(token_of(url)) == (7, NotificationType.WAITLISTED)


def test_a_token_with_any_character_changed_is_refused():
    signer = links()
    token = signer.token(42, NotificationType.ANNOUNCEMENT)

    for index, char in enumerate(token):
        if char == ".":
            continue
        altered = token[:index] + ("A" if char != "A" else "B") + token[index + 1 :]
        with pytest.raises(ValueError):  # noqa: PT011 - the port promises a plain ValueError
            signer.verify(altered)


def test_a_payload_moved_to_another_user_keeps_the_old_signature_and_is_refused():
    signer = links()
    mine = signer.token(42, NotificationType.ANNOUNCEMENT)
    theirs = signer.token(43, NotificationType.ANNOUNCEMENT)
    forged = f"{theirs.split('.')[0]}.{mine.split('.')[1]}"

    with pytest.raises(ValueError, match="signature"):
        signer.verify(forged)


def test_a_token_signed_with_another_secret_is_refused():
    token = links("another-secret-that-is-also-32-bytes-long").token(
        42, NotificationType.WAITLISTED
    )

    with pytest.raises(ValueError, match="signature"):
        links().verify(token)


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "abc", "abc.def", "a.b.c", "🙂.🙂", "x" * 5000, "MS5XQUlUTElTVEVE.", " " * 10],
)
def test_garbage_is_refused_with_value_error(garbage: str):
    with pytest.raises(ValueError):  # noqa: PT011 - the port promises a plain ValueError
        links().verify(garbage)


def test_padding_or_other_spellings_of_the_same_bytes_are_refused():
    token = links().token(42, NotificationType.WAITLISTED)

    with pytest.raises(ValueError):  # noqa: PT011
        links().verify(token + "=")


def test_a_short_secret_or_a_non_http_base_url_is_refused_at_start():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SignedUnsubscribeLinks("short", BASE)
    with pytest.raises(ValueError, match="base URL"):
        SignedUnsubscribeLinks(SECRET, "mov.example.org")


def test_the_secret_is_not_in_the_repr():
    assert SECRET not in repr(links())
