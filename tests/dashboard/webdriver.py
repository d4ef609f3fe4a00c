"""A minimal W3C WebDriver client over the stdlib (urllib + JSON) for Debian's chromedriver."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(Exception):
    """chromedriver answered an error (or could not start)."""


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (scripts/test installs Debian's chromium, chromium-driver)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Browser:
    """One headless Chromium session driven through chromedriver's HTTP endpoint."""

    def __init__(self, log_dir: Path) -> None:
        self._port = _free_port()
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self._log = (log_dir / "chromedriver.log").open("wb")
        self._driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self._port}"], stdout=self._log, stderr=subprocess.STDOUT
        )
        self._base = f"http://127.0.0.1:{self._port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._request("GET", "/status")["value"].get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self._driver.poll() is not None:
                self.close()
                raise WebDriverError("chromedriver did not become ready")
            time.sleep(0.1)
        options = {"binary": CHROMIUM, "args": [*CHROMIUM_ARGS, f"--user-data-dir={self._profile}"]}
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}}
        try:
            self._session = (
                "/session/" + self._request("POST", "/session", caps)["value"]["sessionId"]
            )
        except Exception:
            self.close()
            raise

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback chromedriver
            self._base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise WebDriverError(exc.read().decode("utf-8", "replace")[:2000]) from None

    def command(self, method: str, path: str, body: Any = None) -> Any:
        return self._request(method, self._session + path, body)["value"]

    def get(self, url: str) -> None:
        self.command("POST", "/url", {"url": url})

    def find(self, css: str) -> str:
        found = self.command("POST", "/element", {"using": "css selector", "value": css})
        return str(found[ELEMENT])

    def type(self, css: str, text: str) -> None:
        self.command("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self.command("POST", f"/element/{self.find(css)}/click", {})

    def text(self, css: str) -> str:
        return str(self.command("GET", f"/element/{self.find(css)}/text"))

    def script(self, source: str, *args: Any) -> Any:
        return self.command("POST", "/execute/sync", {"script": source, "args": list(args)})

    def screenshot(self, path: Path) -> None:
        import base64  # noqa: PLC0415

        path.write_bytes(base64.b64decode(self.command("GET", "/screenshot")))

    def close(self) -> None:
        try:
            if hasattr(self, "_session"):
                self._request("DELETE", self._session)
        except (OSError, WebDriverError):
            pass
        if self._driver.poll() is None:
            self._driver.terminate()
            try:
                self._driver.wait(10)
            except subprocess.TimeoutExpired:
                self._driver.kill()
                self._driver.wait(10)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)
