"""Issue 16 §2: ``scripts/asterisk-local start --http-port`` gives Asterisk 22 the shipped
WebRTC setup: dialer/asterisk_files/pjsip-webrtc.conf (a WSS transport, WebRTC endpoints 201-202)
behind Asterisk's HTTP server with TLS on the dev certificate, made once per machine.

The browser side (registration, a call, DTMF, audio) is tests/dashboard/test_agent_phone_browser.py.
"""

from __future__ import annotations

import base64
import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import asterisk_factory
import pytest
from asterisk_fixtures import AsteriskInstance

pytestmark = pytest.mark.asterisk


@pytest.fixture(scope="module")
def webrtc() -> Iterator[AsteriskInstance]:
    with asterisk_factory.running("webrtc-conf", webrtc=True) as instance:
        yield instance


def test_the_wss_transport_and_the_webrtc_endpoints_are_loaded(webrtc: AsteriskInstance) -> None:
    transports = webrtc.cli("pjsip show transports")
    assert "transport-wss" in transports and " wss " in transports
    assert "transport-udp" in transports  # the SIP part of --sip-port is unchanged
    endpoint = webrtc.cli("pjsip show endpoint 201")
    for line in ("webrtc", "media_encryption", "ice_support", "use_avpf", "rtcp_mux"):
        assert line in endpoint
    assert "dtls" in _value(endpoint, "media_encryption")
    assert _value(endpoint, "ice_support") == "true"
    assert _value(endpoint, "dtmf_mode") == "rfc4733"
    for module in ("res_http_websocket.so", "res_pjsip_transport_websocket.so", "res_srtp.so"):
        assert "Running" in webrtc.cli(f"module show like {module}"), module
    assert "/ws => Asterisk HTTP WebSocket" in webrtc.cli("http show status")


def test_the_websocket_answers_sip_over_tls_with_the_dev_certificate(
    webrtc: AsteriskInstance,
) -> None:
    assert webrtc.http_port is not None
    certificate = webrtc.directory.parent.parent / "webrtc-dev-cert" / "cert.pem"
    assert certificate.is_file(), certificate
    context = ssl.create_default_context(cafile=str(certificate))  # the dev cert, trusted here
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{webrtc.http_port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: sip\r\n\r\n")  # fmt: skip
    with (
        socket.create_connection(("127.0.0.1", webrtc.http_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request.encode())
        answer = tls.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 101"), answer
    assert "sec-websocket-protocol: sip" in answer.lower(), answer


def test_the_dev_certificate_is_made_once_and_reused(webrtc: AsteriskInstance) -> None:
    certs = webrtc.directory.parent.parent / "webrtc-dev-cert"
    before = (certs / "cert.pem").read_bytes()
    second = asterisk_factory.start("webrtc-conf2", webrtc=True)
    try:
        assert (certs / "cert.pem").read_bytes() == before
        http = Path(second.directory) / "etc" / "http.conf"
        assert f"tlsbindaddr = 127.0.0.1:{second.http_port}" in http.read_text(encoding="utf-8")
    finally:
        asterisk_factory.stop(second)


def _value(text: str, name: str) -> str:
    for line in text.splitlines():
        parts = line.split(":", 1)
        if len(parts) == 2 and parts[0].strip() == name:
            return parts[1].strip()
    return ""
