"""Start and stop private Asterisk instances (scripts/asterisk-local) on free AMI ports.

The integration suite's session fixture runs one; the scale-out test runs two at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

from asterisk_fixtures import SCRIPT, AsteriskInstance
from local_services import free_port, free_udp_port, unavailable


def install() -> None:
    if shutil.which("bash") is None:
        unavailable("Asterisk", "bash is not available")
    if not os.access(SCRIPT, os.X_OK):
        unavailable("Asterisk", f"{SCRIPT} is missing or not executable")
    done = subprocess.run(
        [str(SCRIPT), "install"], capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        unavailable(
            "Asterisk", f"scripts/asterisk-local install failed:\n{done.stdout}\n{done.stderr}"
        )


def start(prefix: str = "pytest", *, sip: bool = False, webrtc: bool = False) -> AsteriskInstance:
    """A new instance with a unique name on a free AMI port (installed first if needed).

    ``sip``: also PJSIP from the shipped dialer/asterisk_files/pjsip.conf, on a free port of
    127.0.0.1, its trunk pointing at 127.0.0.2:``carrier_port``. ``webrtc`` (implies ``sip``):
    also dialer/asterisk_files/pjsip-webrtc.conf and a WSS port (``http_port``, dev certificate).
    """
    sip = sip or webrtc
    install()
    name = f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    port = free_port()
    secret = uuid.uuid4().hex
    sip_port = free_udp_port() if sip else None
    carrier_port = free_udp_port("127.0.0.2") if sip else None
    sip_args = ["--sip-port", str(sip_port), "--carrier-port", str(carrier_port)] if sip else []
    http_port = free_port() if webrtc else None
    sip_args += ["--http-port", str(http_port)] if webrtc else []
    started = subprocess.run(
        [str(SCRIPT), "start", name, "--ami-port", str(port), "--ami-secret", secret, *sip_args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if started.returncode != 0:
        subprocess.run([str(SCRIPT), "stop", name], capture_output=True, timeout=60, check=False)
        unavailable("Asterisk", f"instance did not start:\n{started.stdout}\n{started.stderr}")
    directory = Path(
        subprocess.run(
            [str(SCRIPT), "dir", name], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    inner = (directory / "etc" / "asterisk.conf").read_text(encoding="utf-8")
    inner_directory = next(
        line.split("=>", 1)[1].strip().removesuffix("/etc")
        for line in inner.splitlines()
        if line.startswith("astetcdir")
    )
    return AsteriskInstance(
        name,
        port,
        "dialer",
        secret,
        directory,
        inner_directory,
        sip_port,
        carrier_port,
        http_port,
    )


def stop(instance: AsteriskInstance) -> None:
    stopped = subprocess.run(
        [str(SCRIPT), "stop", instance.name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if stopped.returncode != 0:
        warnings.warn(
            f"Asterisk instance {instance.name} not stopped: {stopped.stderr}", stacklevel=1
        )
    if not os.environ.get("CALLBACK_DIALER_KEEP_ASTERISK"):
        shutil.rmtree(instance.directory, ignore_errors=True)


@contextlib.contextmanager
def running(
    prefix: str = "pytest", *, sip: bool = False, webrtc: bool = False
) -> Iterator[AsteriskInstance]:
    instance = start(prefix, sip=sip, webrtc=webrtc)
    try:
        yield instance
    finally:
        stop(instance)
