"""uvicorn's HTTP protocol (httptools), with one change: a request it cannot parse (a control
character in a header, a broken request line) is answered in API.md's envelope, as JSON, with
the API's security headers, rather than uvicorn's plain text. The connection is closed after
it, as uvicorn does: what follows the bad bytes cannot be trusted to start a request.
"""

from __future__ import annotations

import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mov_api.gateway import API_CSP, SECURITY_HEADERS

MALFORMED = msgspec.json.encode(
    {"success": False, "message": "Malformed HTTP request", "errorCode": "VALIDATION_ERROR"}
)
_HEADERS = b"".join(
    name + b": " + value + b"\r\n"
    for name, value in [
        (b"content-type", b"application/json"),
        *SECURITY_HEADERS,  # the API's own, as its gateway adds them to every answer
        (b"content-security-policy", API_CSP),
        (b"connection", b"close"),
    ]
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
