"""The pages in Chromium: the path picture drawn the same by the server and by
the widget, the role filter, printing on A4."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser_stack import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

PATHS = [
    "kuntouttava-tyotoiminta",
    "tyohonvalmennus-vammaispalvelut",
    "tyokykytiimi-asiakasvastaava",
]
SHAPE = """(root) => Array.from(root.querySelectorAll('li.pk-step')).map(li => ({
  cls: li.className,
  text: li.textContent.replace(/\\s+/g, ''),
}))"""


@pytest.mark.parametrize("path_id", PATHS)
def test_server_page_and_widget_draw_the_same_picture(page, servers, path_id):
    page.goto(f"{servers.web}/polut/{path_id}")
    server = page.locator("main .pk-path").evaluate(SHAPE)
    follow_server = page.locator("main .pk-followup").text_content()
    page.goto(f"{servers.web}/upotus")  # a page that loads the widget's script
    page.wait_for_function("() => window.Polkuopas && window.Polkuopas.renderPath")
    widget = page.evaluate(
        """async (id) => {
          const payload = await (await fetch('/api/polut/' + id)).json();
          const node = window.Polkuopas.renderPath(payload, {
            strings: window.Polkuopas.strings.fi, level: 2, compact: false,
            showHeader: false});
          document.body.appendChild(node);
          const shape = ("""
        + SHAPE
        + """)(node);
          const follow = node.querySelector('.pk-followup').textContent;
          node.remove();
          return {shape, follow};
        }""",
        path_id,
    )
    assert widget["shape"] == server
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    assert squash(widget["follow"]) == squash(follow_server)


def test_role_filter_narrows_the_list_while_typing(page, servers):
    page.goto(servers.web + "/roolit")
    page.get_by_label("Hae roolia nimellä tai sanalla").fill("fysioterapeutti")
    status = page.locator("#roolien-maara")
    expect(status).to_contain_text("Haulla ”fysioterapeutti” löytyi")
    found = int(re.search(r"löytyi (\d+) roolia", status.text_content()).group(1))
    assert 1 <= found < 15
    expect(page.locator("article.role:visible")).to_have_count(found)
    expect(page.locator("#rooli-fysioterapeutti")).to_be_visible()
    expect(page.locator("#rooli-tyohonvalmentaja")).to_be_hidden()
    assert "q=" in page.url
    page.get_by_label("Hae roolia nimellä tai sanalla").fill("")
    expect(status).to_have_text("Kaikki 15 roolia näkyvissä.")
    screenshot(page, "roolit")


def test_role_page_links_to_the_steps_of_each_path(page, servers):
    page.goto(servers.web + "/roolit#rooli-tyovalmentaja")
    role = page.locator("#rooli-tyovalmentaja")
    link = role.get_by_role("link", name=re.compile("Vaihe 4: Työtehtävät"))
    link.click()
    expect(page).to_have_url(re.compile("/polut/kuntouttava-tyotoiminta#step-"))
    expect(page.locator("#step-tyotehtavat")).to_be_in_viewport()


def test_path_page_prints_on_a4_without_navigation(page, servers):
    page.goto(f"{servers.web}/polut/kuntouttava-tyotoiminta")
    expect(page.get_by_role("button", name="Tulosta A4-paperille")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Tulosta A4-paperille")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    # The picture of the path with its sources; the questions and answers stay
    # on the web page.
    assert 1 <= pages <= 6
    expect(page.locator(".path-questions")).to_be_hidden()
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    screenshot(page, "polku-print-a4")


def test_path_page_works_without_javascript(browser, servers):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{servers.web}/polut/tyokykytiimi-asiakasvastaava")
        expect(page.locator("li.pk-step")).to_have_count(8)
        page.goto(f"{servers.web}/roolit?q=asiakasvastaava")
        expect(page.locator("article.role:visible").first).to_contain_text(
            "Asiakasvastaava"
        )
    finally:
        context.close()
