"""Helpers for the softphone test: a cuttable TCP proxy in front of Asterisk's WSS port, a
SIPp customer (UAS that echoes RTP), and Asterisk's channel statistics parsed."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from local_services import free_udp_port


class CuttableProxy:
    """127.0.0.1:``port`` → 127.0.0.1:``upstream``, byte for byte (TLS passes through).
    ``cut(hold_s)`` closes every connection and refuses new ones for ``hold_s``: the
    browser's WebSocket is lost as on a dropped network, then can come back."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._refuse_until = 0.0
        self.connections = 0
        self.cuts = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self.connections += 1
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def cut(self, hold_s: float) -> None:
        with self._lock:
            self._refuse_until = time.monotonic() + hold_s
            self.cuts += 1
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def close(self) -> None:
        self._closed = True
        self.cut(0)
        self._server.close()


@contextlib.contextmanager
def sipp_customer(carrier_port: int, log_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """SIPp's built-in UAS on 127.0.0.2:``carrier_port`` (the trunk's contact): answers every
    call and echoes the RTP it receives back to Asterisk; hangs up when Asterisk does."""
    sipp = shutil.which("sipp")
    assert sipp is not None
    media = free_udp_port("127.0.0.2")
    args = [sipp, "-sn", "uas", "-i", "127.0.0.2", "-p", str(carrier_port), "-mi", "127.0.0.2",
            "-mp", str(media), "-rtp_echo", "-nostdin", "-trace_err",
            "-error_file", str(log_dir / "sipp-errors.log")]  # fmt: skip
    out = (log_dir / "sipp.out").open("wb")
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            cwd=log_dir)  # fmt: skip
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        out.close()


def channel_stats(text: str) -> dict[str, tuple[int, int]]:
    """``pjsip show channelstats`` → {channel: (packets received, packets sent)} by Asterisk
    on each channel. Columns: BridgeId ChannelId UpTime Codec, then Count Lost Pct Jitter
    received and the same sent (counts may carry a K/M suffix)."""
    rows: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 12 and re.fullmatch(r"\S+-[0-9a-f]{8}", parts[1]):
            rows[parts[1]] = (_count(parts[4]), _count(parts[8]))
    return rows


def _count(text: str) -> int:
    scale = {"K": 1000, "M": 1000000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)
