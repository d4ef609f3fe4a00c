"""Raw HTTP bytes through the real twisted.web Site (HTTPChannel, request parsing, the
resource tree) over an in-memory transport: no reactor, no sockets, deterministic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.web.server import Site


@dataclass(frozen=True)
class WireResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [name + b": " + value for name, value in headers.items()]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def exchange(site: Site, data: bytes) -> WireResponse:
    """Send ``data`` on a fresh connection; parse the one response (or 400 from the parser)."""
    channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
    transport = StringTransport()
    channel.makeConnection(transport)
    channel.dataReceived(data)
    raw = transport.value()
    channel.connectionLost(None)
    if not raw:  # twisted closed without a word (e.g. a request line over 16 KiB)
        assert transport.disconnecting
        return WireResponse(0, {}, b"")
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
    return WireResponse(int(status_line.split()[1]), headers, body)
