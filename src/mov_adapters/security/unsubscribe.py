"""Signed one-click unsubscribe links: `user_id.TYPE` plus its HMAC-SHA256, in URL-safe base64.

A link names one user and one notification type and proves we made it; it carries no expiry
because e-mails stay in mailboxes for years and an old link must still work.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Final
from urllib.parse import urlsplit

from mov_core.domain.notifications import NotificationType

MIN_SECRET_BYTES: Final = 32
# Keeps these signatures apart from anything else signed with the same secret (such as JWTs).
_PURPOSE: Final = b"mov-unsubscribe"
_TOKEN: Final = re.compile(r"^([A-Za-z0-9_-]{1,200})\.([A-Za-z0-9_-]{43})$")
_PAYLOAD: Final = re.compile(r"^([1-9][0-9]{0,18})\.([A-Z_]{1,64})$")
PATH: Final = "/api/v1/notifications/unsubscribe"


class SignedUnsubscribeLinks:
    """`UnsubscribeLinks` port: HMAC-signed tokens under a key derived from `secret`."""

    def __init__(self, secret: bytes | str, base_url: str) -> None:
        """Raises `ValueError` for a secret under 32 bytes or a base URL that is not http(s)."""
        raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(raw) < MIN_SECRET_BYTES:
            raise ValueError(
                f"unsubscribe secret must be at least {MIN_SECRET_BYTES} bytes, got {len(raw)}"
            )
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"unsubscribe base URL must be http(s)://host…, not {base_url!r}")
        self._key = hmac.new(raw, _PURPOSE, hashlib.sha256).digest()
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"SignedUnsubscribeLinks(base_url={self.base_url!r})"

    def token(self, user_id: int, kind: NotificationType) -> str:
        if user_id <= 0:
            raise ValueError(f"cannot sign an unsubscribe link for user id {user_id}")
        payload = f"{user_id}.{kind.value}".encode("ascii")
        return f"{_encode(payload)}.{_encode(self._sign(payload))}"

    def url(self, user_id: int, kind: NotificationType) -> str:
        return f"{self.base_url}{PATH}?token={self.token(user_id, kind)}"

    def verify(self, token: str) -> tuple[int, NotificationType]:
        """The user and type a token was made for.

        Raises:
            ValueError: for a token not made with this secret, altered, or not a token at all.
        """
        match = _TOKEN.match(token)
        if match is None:
            raise ValueError("not an unsubscribe token")
        payload, signature = _decode(match.group(1)), _decode(match.group(2))
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise ValueError("unsubscribe token signature does not match")
        fields = _PAYLOAD.match(payload.decode("ascii", errors="replace"))
        if fields is None:  # signed by us, so only an older format could get here
            raise ValueError("unsubscribe token content is not understood")
        return int(fields.group(1)), NotificationType(fields.group(2))

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    """Strict: only the one canonical spelling of some bytes is accepted."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not an unsubscribe token") from exc
    if _encode(data) != text:
        raise ValueError("not an unsubscribe token")
    return data
