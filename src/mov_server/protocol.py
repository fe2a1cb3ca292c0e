"""uvicorn's HTTP protocol (httptools), with one change: a request it cannot parse (a control
character in a header, a broken request line) is answered in API.md's envelope, as JSON, with
the API's security headers, rather than uvicorn's plain text. The connection is closed after
it, as uvicorn does: what follows the bad bytes cannot be trusted to start a request.
"""

from __future__ import annotations

import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MALFORMED = msgspec.json.encode(
    {"success": False, "message": "Malformed HTTP request", "errorCode": "VALIDATION_ERROR"}
)
_HEADERS = (
    b"content-type: application/json\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"x-frame-options: DENY\r\n"
    b"referrer-policy: no-referrer\r\n"
    b"content-security-policy: default-src 'none'; frame-ancestors 'none'\r\n"
    b"connection: close\r\n"
)


class EnvelopeHttpProtocol(HttpToolsProtocol):
    """`mov serve`'s HTTP protocol (uvicorn's `http=`)."""

    def send_400_response(self, msg: str) -> None:
        """`msg` (httptools' reason) goes to the log only: it is for operators, not clients."""
        self.logger.info("malformed HTTP request from %s: %s", self.client, msg)
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([
            _HEADERS,
            b"content-length: " + str(len(MALFORMED)).encode("ascii") + b"\r\n\r\n",
            MALFORMED,
        ])  # fmt: skip
        self.transport.write(b"".join(content))
        self.transport.close()
