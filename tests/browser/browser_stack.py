"""For the browser tests: all of Polkuopas in Chromium, driven by Playwright.

Starts, on free loopback ports: the action server, Rasa with the trained model
(bot/models/polkuopas.tar.gz) and `--cors` for the pages' origins, the web app
with the demo on, and a plain static page on another origin that embeds the
widget with the one-line snippet. Chromium is /usr/bin/chromium (Debian's
package), never a browser Playwright downloads.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from polkuopas.admin import Admin
from polkuopas.catalog import load_catalog
from polkuopas.demo import seed_demo
from polkuopas.settings import PROJECT_ROOT
from polkuopas.store import open_store

MODEL = PROJECT_ROOT / "bot" / "models" / "polkuopas.tar.gz"
RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
CHROMIUM = Path(os.environ.get("POLKUOPAS_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = PROJECT_ROOT / "reports" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "browser-test-secret"

HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Another organisation's intranet</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
<h1>Intranet of another organisation</h1>
<p>A plain page on another origin. The Polkuopas widget is embedded below
with the one-line snippet from /upotus.</p>
</main>
<script src="{widget}" data-server="{rasa}" data-title="Polkuopas" defer></script>
</body>
</html>
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path, limit: float):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited while starting:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(1)
    pytest.fail(f"{url} did not start within {limit}s:\n{log.read_text()[-3000:]}")


class Servers:
    """The full stack for the browser: action server, Rasa, web app, host page."""

    def __init__(self, root: Path):
        self.root = root
        self.db = root / "store.db"
        self.processes: list[subprocess.Popen] = []
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.web_port = free_port()
        self.host_port = free_port()
        self.web = f"http://127.0.0.1:{self.web_port}"
        self.host = f"http://127.0.0.1:{self.host_port}"
        self.rasa = f"http://127.0.0.1:{self.rasa_port}"
        self.logs: dict[str, Path] = {}
        self._host_server: http.server.ThreadingHTTPServer | None = None

    def seed(self) -> None:
        store = open_store(self.db)
        admin = Admin(store, load_catalog(PROJECT_ROOT / "paths"), "test")
        list(seed_demo(admin))
        store.db.close()

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "POLKUOPAS_DB": str(self.db),
            "POLKUOPAS_ACTION_PORT": str(self.action_port),
            "POLKUOPAS_ACTION_URL": f"http://127.0.0.1:{self.action_port}/webhook",
            "POLKUOPAS_ACTION_SECRET": SECRET,
            "POLKUOPAS_WEB_PORT": str(self.web_port),
            "POLKUOPAS_RASA_URL": self.rasa,
            "POLKUOPAS_CORS_ORIGINS": f"{self.web} {self.host}",
            "POLKUOPAS_DEMO": "true",
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONPATH": str(PROJECT_ROOT / "bot"),
        }

    def spawn(self, name: str, command: list[str], health: str, limit: float):
        log = self.root / f"{name}.log"
        self.logs[name] = log
        process = subprocess.Popen(
            command,
            env=self.env(),
            cwd=PROJECT_ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        wait_until_up(health, process, log, limit)

    def start(self) -> None:
        endpoints = self.root / "endpoints.yml"
        endpoints.write_text(
            "action_endpoint:\n"
            f'  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f"  headers:\n    X-Polkuopas-Secret: {SECRET}\n"
            "tracker_store:\n  type: SQL\n  dialect: sqlite\n"
            f"  db: {self.root / 'tracker.db'}\n"
        )
        credentials = self.root / "credentials.yml"
        credentials.write_text(f"polkuopas_channel.TokenRestInput:\n  db: {self.db}\n")
        py = sys.executable
        self.spawn(
            "web",
            [py, "-m", "polkuopas.web"],
            f"{self.web}/health",
            60,
        )
        self.spawn(
            "action-server",
            [py, "-m", "polkuopas.action_server"],
            f"http://127.0.0.1:{self.action_port}/health",
            60,
        )
        self.spawn(
            "rasa",
            [str(RASA), "run", "--model", str(MODEL), "--endpoints", str(endpoints),
             "--credentials", str(credentials), "--interface", "127.0.0.1",
             "--port", str(self.rasa_port), "--cors", self.web, self.host],
            f"{self.rasa}/webhooks/rest/",
            240,
        )  # fmt: skip
        self.start_host_page()

    def host_page(self, name: str, rasa: str) -> str:
        """A plain page on the other origin embedding the widget; its URL."""
        (self.root / "host" / name).write_text(
            HOST_PAGE.format(
                widget=f"{self.web}/widget/polkuopas-widget.js", rasa=rasa
            ),
            encoding="utf-8",
        )
        return f"{self.host}/{name}"

    def start_host_page(self) -> None:
        site = self.root / "host"
        site.mkdir()
        self.host_page("index.html", self.rasa)
        # A plain static server: no CSP, nothing Polkuopas-specific.
        handler = functools.partial(_QuietHandler, directory=str(site))
        self._host_server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", self.host_port), handler
        )
        threading.Thread(target=self._host_server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._host_server:
            self._host_server.shutdown()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def stop_rasa(self) -> subprocess.Popen:
        rasa = self.processes[-1]
        rasa.terminate()
        rasa.wait(timeout=30)
        return rasa


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


def screenshot(page, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# --- talking to the widget ------------------------------------------------------


class Chat:
    """The widget on a page, as a person uses it (Playwright pierces its shadow)."""

    def __init__(self, page, servers: Servers):
        self.page = page
        self.servers = servers
        self.widget = page.locator("polkuopas-chat").first
        self.input = self.widget.locator("input.pk-input")
        self.log = self.widget.locator(".pk-log")
        self.bot = self.widget.locator(".pk-msg--bot .pk-bubble")
        self.user = self.widget.locator(".pk-msg--user .pk-bubble")

    def open_demo_page(self) -> Chat:
        self.page.goto(self.servers.web + "/")
        self.wait_for_greeting()
        return self

    def wait_idle(self) -> None:
        from playwright.sync_api import expect

        expect(self.log).to_have_attribute("aria-busy", "false")

    def wait_for_greeting(self) -> None:
        from playwright.sync_api import expect

        expect(self.bot.first).to_contain_text("Olen Polkuopas")
        self.wait_idle()

    def as_demo_client(self, name: str) -> Chat:
        from playwright.sync_api import expect

        self.page.get_by_role("button", name=name).first.click()
        expect(self.widget.locator(".pk-identity")).to_have_attribute(
            "data-state", "valid"
        )
        self.wait_for_greeting()
        return self

    def ask(self, text: str) -> str:
        """Type a question, send it, and return the bot's answer as text."""
        from playwright.sync_api import expect

        before = self.bot.count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.bot.nth(before)).to_be_visible()
        self.wait_idle()
        return "\n".join(self.bot.all_inner_texts()[before:])


def deep_focus(page) -> dict:
    """The focused element, looking into shadow roots, and its focus outline."""
    return page.evaluate(
        """() => {
          let el = document.activeElement;
          while (el && el.shadowRoot && el.shadowRoot.activeElement) {
            el = el.shadowRoot.activeElement;
          }
          if (!el) return null;
          const style = getComputedStyle(el);
          return {
            tag: el.tagName.toLowerCase(),
            cls: el.className || "",
            text: (el.textContent || "").trim().slice(0, 60),
            outline: style.outlineStyle,
            outlineWidth: parseFloat(style.outlineWidth),
          };
        }"""
    )


class FakeRasa(http.server.BaseHTTPRequestHandler):
    """Stands in for a Rasa server that has come back: health and CORS only."""

    def _headers(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "authorization, content-type")
        self.send_header("Content-Type", "application/json")
        self.end_headers()

    def do_OPTIONS(self) -> None:
        self._headers(204)

    def do_GET(self) -> None:
        self._headers(200)
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, format: str, *args) -> None:
        pass


@contextlib.contextmanager
def fake_rasa(port: int):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
