"""A headless Chromium driven through chromedriver's W3C WebDriver HTTP interface (standard library only).

Debian's ``chromium`` and ``chromium-driver`` packages give a browser and a driver of the same
version; :func:`ensure_chromium` installs them with apt when they are missing and the tests run as
root, and otherwise says why they cannot run (the caller skips). The browser starts with the
flags that keep it off the network (no background networking, component updates, sync or first-run
tasks) and a fresh profile directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
PACKAGES = ["chromium", "chromium-driver"]


def ensure_chromium() -> str | None:
    """Install Debian's chromium and chromium-driver when missing; None when ready, else why not."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return None
    if not shutil.which("apt-get"):
        return "chromium/chromedriver missing and apt-get is not available to install them"
    if os.geteuid() != 0:
        return "chromium/chromedriver missing; installing them with apt-get needs root"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *PACKAGES]):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            return f"{' '.join(command)} failed: {result.stderr[-500:]}"
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return None
    return "apt-get installed chromium and chromium-driver, but they are not on PATH"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """One chromedriver process and one browser session; use as a context manager."""

    def __init__(self, profile: Path, width: int = 1400, height: int = 900):
        self.port = _free_port()
        self.driver = subprocess.Popen([shutil.which("chromedriver"), f"--port={self.port}"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:  # wait for the driver to listen
            try:
                self._call("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or self.driver.poll() is not None:
                    self.driver.kill()
                    raise RuntimeError("chromedriver did not start")
                time.sleep(0.2)
        options = {"binary": shutil.which("chromium"),
                   "args": CHROMIUM_FLAGS + [f"--user-data-dir={profile}", f"--window-size={width},{height}"]}
        session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options}}})
        self.session = f"/session/{session['sessionId']}"

    def _call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as err:  # WebDriver errors come as JSON bodies
            raise RuntimeError(f"{method} {path}: {err.read().decode(errors='replace')[:1000]}") from err

    def call(self, method: str, path: str, body: dict | None = None):
        """A WebDriver command of this session (``path`` after ``/session/<id>``)."""
        return self._call(method, self.session + path, body)

    def open(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def run(self, script: str, *args):
        """Run JavaScript in the current frame and return its value."""
        return self.call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script: str, *args, timeout: float = 30.0):
        """Poll ``script`` until it returns a truthy value; return it."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script, *args)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.2)

    def element(self, xpath: str) -> dict:
        return self.call("POST", "/element", {"using": "xpath", "value": xpath})

    def click(self, xpath: str) -> None:
        element = self.element(xpath)
        self.call("POST", f"/element/{next(iter(element.values()))}/click", {})

    def frame(self, xpath: str | None) -> None:
        """Switch into the frame found by ``xpath`` (None: back to the top document)."""
        self.call("POST", "/frame", {"id": None if xpath is None else self.element(xpath)})

    def screenshot(self, path: Path) -> None:
        import base64

        path.write_bytes(base64.b64decode(self.call("GET", "/screenshot")))

    def close(self) -> None:
        try:
            self._call("DELETE", self.session)
        finally:
            self.driver.terminate()
            self.driver.wait(timeout=30)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
