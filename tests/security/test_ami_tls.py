"""AMI over TLS against a real Asterisk: manager.conf ``tlsenable`` with a self-signed
certificate made here by openssl; the dialer logs in over TLS and places a call, verifying
the certificate by default (a wrong CA is refused, ``tls_verify = false`` accepts it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import SCRIPT, Reports
from local_services import free_port, unavailable

from campaigns.calls import CallResult, OriginateRequest
from dialer.ami.telephony import AmiSettings, AmiTelephony, AmiUnavailable
from dialer.config.service import ConfigError, ami_settings

pytestmark = pytest.mark.asterisk


@dataclass(frozen=True)
class TlsAsterisk:
    name: str
    plain_port: int
    tls_port: int
    secret: str
    ca_file: Path  # the server's self-signed certificate, as the dialer's CA
    wrong_ca: Path  # another self-signed certificate


def _openssl(directory: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        unavailable("openssl", "the openssl command is not installed")
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def _script(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _enable_tls(directory: Path, inner: str, tls_port: int) -> None:
    """The manager.conf lines the README gives, placed under [general]."""
    conf = directory / "etc" / "manager.conf"
    lines = [
        "tlsenable = yes",
        f"tlsbindaddr = 127.0.0.1:{tls_port}",
        f"tlscertfile = {inner}/etc/ami-cert.pem",
        f"tlsprivatekey = {inner}/etc/ami-key.pem",
    ]
    text = conf.read_text(encoding="utf-8")
    conf.write_text(text.replace("[general]\n", "[general]\n" + "\n".join(lines) + "\n", 1))


def _wait_listening(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"Asterisk's AMI TLS port {port} did not open in {timeout_s} s")


@pytest.fixture(scope="module")
def tls_asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsAsterisk]:
    """A private instance with AMI on TLS next to the plain port."""
    if _script("install", timeout=1800).returncode != 0:
        unavailable("Asterisk", "scripts/asterisk-local install failed")
    name, secret = f"pytest-tls-{os.getpid()}-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    plain_port, tls_port = free_port(), free_port()
    started = _script("start", name, "--ami-port", str(plain_port), "--ami-secret", secret)
    if started.returncode != 0:
        unavailable("Asterisk", f"instance did not start:\n{started.stdout}{started.stderr}")
    directory = Path(_script("dir", name).stdout.strip())
    try:
        asterisk_conf = (directory / "etc" / "asterisk.conf").read_text(encoding="utf-8")
        inner = next(
            line.split("=>", 1)[1].strip().removesuffix("/etc")
            for line in asterisk_conf.splitlines()
            if line.startswith("astetcdir")
        )
        ca_file, _ = _openssl(directory / "etc", "ami")  # readable inside the chroot
        wrong_ca, _ = _openssl(tmp_path_factory.mktemp("wrong-ca"), "other")
        _enable_tls(directory, inner, tls_port)
        reloaded = _script("rx", name, "manager reload", timeout=30)
        assert reloaded.returncode == 0, reloaded.stderr
        _wait_listening(tls_port)
        yield TlsAsterisk(name, plain_port, tls_port, secret, ca_file, wrong_ca)
    finally:
        _script("stop", name, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


def settings(server: TlsAsterisk, **changes: object) -> AmiSettings:
    base = AmiSettings(
        port=server.tls_port,
        username="dialer",
        secret=server.secret,
        tls=True,
        tls_ca_file=str(server.ca_file),
        ping_interval_s=1.0,
        ping_timeout_s=1.0,
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
        agent_ring_timeout_s=3,
        agent_channel="Local/{agent}@dialer-test-agents",
        customer_channel="Local/{number}@dialer-test-customers/n",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def reports() -> Reports:
    return Reports()


async def _started(settings_: AmiSettings, reports: Reports) -> AmiTelephony:
    telephony = AmiTelephony(settings_, reports.sink, clock=lambda: datetime.now(UTC))
    await telephony.start()
    return telephony


@pytest.fixture
async def over_tls(tls_asterisk: TlsAsterisk, reports: Reports) -> AsyncIterator[AmiTelephony]:
    telephony = await _started(settings(tls_asterisk), reports)
    try:
        yield telephony
    finally:
        await telephony.close()


async def test_the_dialer_logs_in_over_tls_and_places_a_call(
    over_tls: AmiTelephony, reports: Reports
) -> None:
    await over_tls.wait_ready(15)
    request = OriginateRequest(str(uuid.uuid4()), "A-1", "1001", "79990000021", "1042", 3, 3)
    over_tls.originate(request)
    report = await reports.wait(request.attempt_id, timeout_s=30)
    assert report.result is CallResult.ANSWERED


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"tls_ca_file": "wrong"}, "CERTIFICATE_VERIFY_FAILED"),
        # plain TCP to the TLS port: no banner, the login never completes
        ({"tls": False, "tls_ca_file": ""}, "AMI not ready|AMI link lost or silent during Login"),
    ],
)
async def test_a_certificate_from_another_ca_or_plain_tcp_is_refused(
    tls_asterisk: TlsAsterisk, reports: Reports, changes: dict[str, object], why: str
) -> None:
    if changes.get("tls_ca_file") == "wrong":
        changes = {"tls_ca_file": str(tls_asterisk.wrong_ca)}
    telephony = await _started(settings(tls_asterisk, **changes), reports)
    try:
        with pytest.raises(AmiUnavailable, match=why):
            await telephony.wait_ready(3)
        assert not telephony.ready
    finally:
        await telephony.close()


async def test_verification_can_be_turned_off_explicitly(
    tls_asterisk: TlsAsterisk, reports: Reports
) -> None:
    unverified = settings(tls_asterisk, tls_ca_file="", tls_verify=False)
    telephony = await _started(unverified, reports)
    try:
        await telephony.wait_ready(15)
    finally:
        await telephony.close()


def test_the_config_file_takes_tls_options_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n", encoding="utf-8")
    table = {"secret_env": "S", "tls": True, "tls_ca_file": "ca.pem"}
    with pytest.raises(ConfigError, match=r"ami: tls_ca_file '.*ca\.pem'"):
        ami_settings(table, {"S": "x"}, tmp_path)
    with pytest.raises(ConfigError, match="tls_ca_file and tls_verify need tls = true"):
        ami_settings({"secret_env": "S", "tls_verify": False}, {"S": "x"}, tmp_path)
    loaded = ami_settings({"secret_env": "S", "tls": True}, {"S": "x"}, tmp_path)
    assert (loaded.tls, loaded.tls_ca_file, loaded.tls_verify) == (True, "", True)
