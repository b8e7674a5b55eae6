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
import sys
import threading
from pathlib import Path

from benchmarks.servers import Processes, demo_admin, rasa_config, server_env
from deploy.servers import free_port, rasa_command
from polkuopas.settings import PROJECT_ROOT

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
<html lang="{lang}">
<head><meta charset="utf-8"><title>Another organisation's intranet</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
<h1>Intranet of another organisation</h1>
<p>A plain page on another origin. The Polkuopas widget is embedded below
with the one-line snippet from /upotus.</p>
</main>
<script src="{widget}" data-server="{rasa}" data-title="Polkuopas"{extra}
        defer></script>
</body>
</html>
"""


class Servers:
    """The full stack for the browser: action server, Rasa, web app, host page."""

    def __init__(self, root: Path):
        self.root = root
        self.db = root / "store.db"
        self.tracker_db = root / "tracker.db"
        self.processes = Processes(root)
        self.logs = self.processes.logs
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.web_port = free_port()
        self.host_port = free_port()
        self.web = f"http://127.0.0.1:{self.web_port}"
        self.host = f"http://127.0.0.1:{self.host_port}"
        self.rasa = f"http://127.0.0.1:{self.rasa_port}"
        self._host_server: http.server.ThreadingHTTPServer | None = None

    def seed(self) -> None:
        with demo_admin(self.db):
            pass  # the demo clients are all the browser tests need

    def env(self) -> dict[str, str]:
        return server_env(
            self.db,
            self.action_port,
            SECRET,
            POLKUOPAS_WEB_PORT=str(self.web_port),
            POLKUOPAS_RASA_URL=self.rasa,
            POLKUOPAS_CORS_ORIGINS=f"{self.web} {self.host}",
            POLKUOPAS_DEMO="true",
        )

    def spawn(self, name: str, command: list[str], health: str, limit: float):
        self.processes.spawn(name, command, self.env(), health, limit)

    def start(self) -> None:
        endpoints, credentials = rasa_config(self.root, self.db, self.tracker_db)
        py = sys.executable
        self.spawn("web", [py, "-m", "polkuopas.web"], f"{self.web}/health", 60)
        self.spawn(
            "action-server",
            [py, "-m", "polkuopas.action_server"],
            f"http://127.0.0.1:{self.action_port}/health",
            60,
        )
        self.spawn(
            "rasa",
            rasa_command(
                endpoints, credentials, self.rasa_port, "--cors", self.web, self.host
            ),
            f"{self.rasa}/webhooks/rest/",
            240,
        )
        self.start_host_page()

    def host_page(
        self, name: str, rasa: str, lang: str = "fi", data_lang: str | None = None
    ) -> str:
        """A plain page on the other origin embedding the widget; its URL. The
        widget's own texts follow the page's `lang`, or `data_lang`."""
        extra = f' data-lang="{data_lang}"' if data_lang else ""
        (self.root / "host" / name).write_text(
            HOST_PAGE.format(
                widget=f"{self.web}/widget/polkuopas-widget.js",
                rasa=rasa,
                lang=lang,
                extra=extra,
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
        self.processes.stop_all()


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
