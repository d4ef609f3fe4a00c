"""Headless Debian Chromium through Selenium and Debian's chromedriver, for the dashboard tests.

Both paths are given (``Service(executable_path=…)`` and ``binary_location``), so Selenium
Manager is never run and nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

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
    "--lang=ru-RU",  # navigator.language as the agents' (the picker still follows the OS)
)

WebDriverError = WebDriverException
"""chromedriver answered an error (or could not start)."""


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (scripts/test installs Debian's chromium, chromium-driver)"
    return None


class Browser:
    """One headless Chromium session; elements are named by CSS selectors."""

    def __init__(self, log_dir: Path, extra_args: tuple[str, ...] = ()) -> None:
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in (*CHROMIUM_ARGS, *extra_args, f"--user-data-dir={self._profile}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(
            executable_path=CHROMEDRIVER, log_output=str(log_dir / "chromedriver.log")
        )
        try:
            self._driver = webdriver.Chrome(options=options, service=service)
        except Exception:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise

    def get(self, url: str) -> None:
        self._driver.get(url)

    def type(self, css: str, text: str) -> None:
        self._driver.find_element(By.CSS_SELECTOR, css).send_keys(text)

    def click(self, css: str) -> None:
        self._driver.find_element(By.CSS_SELECTOR, css).click()

    def text(self, css: str) -> str:
        return str(self._driver.find_element(By.CSS_SELECTOR, css).text)

    def script(self, source: str, *args: Any) -> Any:
        return self._driver.execute_script(source, *args)

    def keys(self, css: str, text: str) -> None:
        """Key presses as the user makes them, into the element (e.g. ``body``)."""
        self._driver.find_element(By.CSS_SELECTOR, css).send_keys(text)

    def before_each_page(self, source: str) -> None:
        """Run ``source`` in every page before the page's own scripts (DevTools)."""
        self._driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})

    def block(self, *patterns: str) -> None:
        """Chromium itself refuses requests to URLs matching ``patterns`` (none: lift it)."""
        self._driver.execute_cdp_cmd("Network.enable", {})
        self._driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": list(patterns)})

    def console(self) -> list[dict[str, Any]]:
        """The browser's console lines since the last call."""
        return list(self._driver.get_log("browser"))

    def resize(self, width: int, height: int) -> None:
        """The window's size, as a screen of that size shows the page."""
        self._driver.set_window_size(width, height)

    def screenshot(self, path: Path, width: int = 1280) -> None:
        """The whole page, not only the window: the window grows to the page's height."""
        height = int(self.script("return document.documentElement.scrollHeight;"))
        self._driver.set_window_size(width, max(1000, min(height + 120, 4000)))
        self.script("window.scrollTo(0, 0);")
        self._driver.save_screenshot(str(path))
        self._driver.set_window_size(1280, 1000)

    def close(self) -> None:
        try:
            self._driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)
