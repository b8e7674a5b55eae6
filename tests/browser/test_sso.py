"""Single sign-on in Chromium, against the real provider (Debian's glewlwyd,
tests/oidc_provider.py, chosen as told in tests/test_workspace_sso.py).

What only a browser can show: the cookies. The provider runs on `localhost`
and the web app on `127.0.0.1`, two different sites, so the provider's return
is a cross-site top-level navigation, as from a county's Entra ID. The worker
clicks the button, signs in and consents on Glewlwyd's own login page, and
must land in the workspace signed in: the flow's Lax cookie reached the
return, and the Strict session cookie set there is sent with the next page.
Only the web app runs (no Rasa).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest
from oidc_provider import CLIENT_ID, Glewlwyd, available
from playwright.sync_api import expect
from scaleout.servers import in_ci

from benchmarks.servers import Processes, demo_admin, free_port, server_env
from polkuopas.web.staff.oidc import FLOW_COOKIE
from polkuopas.web.staff.session import COOKIE

from .browser_stack import SECRET
from .test_accessibility import axe_violations

pytestmark = [pytest.mark.browser]

LABEL = "Kirjaudu kunnan tunnuksella"
CLIENT_SECRET = "browser-sso-client-secret"
# At the provider: the demo worker's e-mail (demo-tyontekija in the store).
USER = ("tyontekija", "provider-password-1", "tyontekija@esimerkki.fi")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[tuple[str, Glewlwyd]]:
    if not available():
        message = "Debian's glewlwyd is not installed (make test installs it)"
        if in_ci():
            pytest.fail(f"{message}; CI=true: this test must run")
        pytest.skip(message)
    root = tmp_path_factory.mktemp("sso")
    db = root / "store.db"
    with demo_admin(db):
        pass  # the demo staff: demo-tyontekija is the worker
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = Glewlwyd(root, host="localhost")
    processes = Processes(root)
    try:
        provider.start()
        provider.configure(f"{base}/tyotila/oidc/paluu", CLIENT_SECRET)
        provider.add_user(USER[0], USER[1], USER[2], True, "Tea Työntekijä")
        env = server_env(
            db,
            free_port(),
            SECRET,
            POLKUOPAS_WEB_PORT=str(port),
            POLKUOPAS_OIDC_ISSUER=provider.issuer,
            POLKUOPAS_OIDC_CLIENT_ID=CLIENT_ID,
            POLKUOPAS_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            POLKUOPAS_OIDC_LABEL=LABEL,
        )
        processes.spawn("web", [sys.executable, "-m", "polkuopas.web"], env,
                        f"{base}/health", 60)  # fmt: skip
        yield base, provider
    finally:
        processes.stop_all()
        provider.stop()


def test_a_worker_signs_in_through_the_provider(page, stack):
    base, _provider = stack
    page.goto(f"{base}/tyotila/kirjaudu")
    assert axe_violations(page) == []  # with the single sign-on button
    page.get_by_role("link", name=LABEL).click()
    # Glewlwyd's own login page, on the other site.
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/login\.html\?"))
    page.locator("#username").fill(USER[0])
    page.locator("#password").fill(USER[1])
    page.locator("#loginbut").click()
    page.locator("#grant-email").check()
    page.locator("#grant-profile").check()
    page.get_by_role("button", name="Grant access").click()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/tyotila/asiakkaat")
    expect(page.get_by_text("kirjautuneena")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies(f"{base}/tyotila/oidc/paluu")}
    assert cookies[COOKIE]["sameSite"] == "Strict" and cookies[COOKIE]["httpOnly"]
    assert FLOW_COOKIE not in cookies
    # Another page of the workspace: the session holds.
    page.goto(f"{base}/tyotila/yhteydenotot")
    expect(page).to_have_url(f"{base}/tyotila/yhteydenotot")
