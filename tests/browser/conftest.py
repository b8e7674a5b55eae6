"""Fixtures of the browser tests (tests/browser): the servers, Chromium, pages.

The servers and helpers are in browser_stack.py. Every test module here is
marked `browser` and `rasa`; Chromium is Debian's /usr/bin/chromium, never a
browser Playwright downloads. The fixtures have package scope: Playwright's sync
API keeps an event loop running in the main thread, so it (and these servers)
must be gone before the async tests in the rest of tests/ run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.servers import require_model

from .browser_stack import CHROMIUM, CHROMIUM_ARGS, Chat, Servers


@pytest.fixture(scope="package")
def servers(tmp_path_factory) -> Iterator[Servers]:
    require_model()
    stack = Servers(tmp_path_factory.mktemp("browser"))
    stack.seed()
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fi-FI"
    )
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="fi-FI",
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def chat(page, servers) -> Chat:
    return Chat(page, servers)
