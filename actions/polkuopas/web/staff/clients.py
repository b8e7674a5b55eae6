"""Working with clients: the list (/tyotila/asiakkaat), the client page, and
its forms: move to a next step, assign and unassign professionals, end the
service, create and revoke the personal link.

Every route finds the client through `visible_client` (a worker sees the
clients assigned to their professional record, an admin all) and every change
goes through `polkuopas.admin.Admin`, the CLI's code, with the staff member as
the actor. After a change the browser is sent back to the client page
(post/redirect/get) with a word saying what was done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import segno
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from polkuopas.admin import Admin
from polkuopas.answers import clock, load_view, main_contacts, path_payload
from polkuopas.catalog import Catalog
from polkuopas.errors import PolkuopasError
from polkuopas.store import StaffSession, Store, token_expiry
from polkuopas.web.api import CatalogDep, SettingsDep, StoreDep
from polkuopas.web.bundle import PATH_CSS_NAME
from polkuopas.web.staff.session import (
    PREFIX,
    StaffDep,
    StaffForm,
    StaffFormDep,
    render,
    require_client_work,
    staff_admin,
    visible_client,
)

router = APIRouter()

# What the client page says after a change (?tehty=...).
DONE = {
    "lisatty": "Asiakas on lisätty.",
    "siirretty": "Asiakas on siirretty seuraavaan vaiheeseen.",
    "nimetty": "Ammattilainen on nimetty asiakkaalle.",
    "poistettu": "Ammattilaisen nimeäminen on poistettu.",
    "paatetty": "Palvelu on päätetty. Jälkikontakti on ajastettu.",
    "peruttu": "Asiakkaan henkilökohtaiset linkit on peruttu.",
}


def client_url(client_id: str, done: str | None = None) -> str:
    return f"{PREFIX}/asiakkaat/{client_id}" + (f"?tehty={done}" if done else "")


def days_since(moment: str | None, today: date) -> int | None:
    if not moment:
        return None
    return (today - date.fromisoformat(moment[:10])).days


def list_rows(
    store: Store, catalog: Catalog, session: StaffSession, query: str
) -> list[dict[str, Any]]:
    pro = None if session.staff.role == "admin" else session.staff.professional_id
    today = date.today()
    rows = []
    for row in store.client_rows(pro):
        path = catalog.paths.get(row["path_id"])
        known = path is not None and path.has_step(row["current_step"])
        step = path.step(row["current_step"]) if known else None
        item = {
            "id": row["id"],
            "path": path.short_name if path else row["path_id"],
            "step": step.title if step else row["current_step"],
            "days": days_since(row["step_since"], today),
            "ended_on": row["ended_on"],
            "open_requests": row["open_requests"],
            "followup_due": None if row["followup_done"] else row["followup_due"],
            "meeting": row["meeting_on"]
            if row["meeting_on"] and row["meeting_on"] >= today.isoformat()
            else None,
            "meeting_at": clock(row["meeting_at"]) if row["meeting_at"] else None,
        }
        text = " ".join(str(item[k]) for k in ("id", "path", "step")).casefold()
        if all(word in text for word in query.casefold().split()):
            rows.append(item)
    return rows


@router.get("/asiakkaat")
async def client_list(
    request: Request,
    session: StaffDep,
    store: StoreDep,
    catalog: CatalogDep,
    q: Annotated[str, Query(max_length=100)] = "",
):
    require_client_work(session)
    query = q.strip()
    return render(
        request,
        "tyotila/asiakkaat.html",
        session,
        active="asiakkaat",
        rows=list_rows(store, catalog, session, query),
        query=query,
        everyone=session.staff.role == "admin",
    )


def client_page(
    request: Request,
    session: StaffSession,
    store: Store,
    catalog: Catalog,
    client_id: str,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    sent: dict[str, str] | None = None,
) -> Response:
    # Imported here: plan.py imports this module (its routes reuse this page).
    from polkuopas.web.staff.plan import own_path_context

    client = visible_client(store, session, client_id)
    view = load_view(store, catalog, client_id)
    if view is None:
        raise HTTPException(404, "unknown client")
    path = view.path
    assets = request.app.state.assets
    requests = [
        r for r in store.open_contact_requests_for(None) if r["client_id"] == client.id
    ]
    return render(
        request,
        "tyotila/asiakas.html",
        session,
        status=status,
        active="asiakkaat",
        widget={
            "path_css": f"/widget/{PATH_CSS_NAME}?v={assets.version(PATH_CSS_NAME)}"
        },
        client=client,
        path=path,
        step=view.step,
        next_steps=[] if client.ended else path.next_steps(client.current_step),
        when={n.step: n.when for n in view.step.next},
        assignments=view.assignments,
        roles=sorted(catalog.roles.values(), key=lambda r: r.title),
        role_titles={r.id: r.title for r in catalog.roles.values()},
        professionals=[p for p in store.list_professionals() if p.active],
        followup=view.followup,
        requests=requests,
        payload=path_payload(catalog, path, view),
        message=DONE.get(request.query_params.get("tehty", "")),
        error=error,
        error_field=error_field,
        today=date.today().isoformat(),
        **{**own_path_context(store, client.id), "sent": sent or {}},
    )


@router.get("/asiakkaat/{client_id}")
async def client_view(
    client_id: str,
    request: Request,
    session: StaffDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    return client_page(request, session, store, catalog, client_id)


def change_failed(
    request: Request,
    form_session: StaffSession,
    store: Store,
    catalog: Catalog,
    client_id: str,
    text: str,
    field: str,
    sent: dict[str, str] | None = None,
) -> Response:
    return client_page(
        request, form_session, store, catalog, client_id, 400, text, field, sent
    )


def try_change(
    request: Request,
    form: StaffForm,
    store: Store,
    catalog: Catalog,
    client_id: str,
    change: Callable[[Admin], object],
    failure: str,
    field: str,
    *,
    refusal: str | None = None,
    errors: tuple[type[Exception], ...] = (PolkuopasError,),
    keep: tuple[str, ...] = (),
) -> Response | None:
    """A change on the client page, or None when it was made.

    The client is found through `visible_client` first (the same 404 as an
    unknown id), so nothing is written for a client the staff member may not
    see. Then `refusal` (a check the form did not pass) or a change refused
    with one of `errors` shows the client page again (400) with the text by
    the form `field`, and the form fields named in `keep` as they were sent, so
    nothing written is lost. `change` gets the staff member's `Admin`.
    """
    visible_client(store, form.session, client_id)
    if refusal is None:
        try:
            change(staff_admin(store, catalog, form.session))
        except errors:
            refusal = failure
        else:
            return None
    sent = {name: form.get(name) for name in keep}
    return change_failed(
        request, form.session, store, catalog, client_id, refusal, field, sent
    )


def client_change(
    request: Request,
    form: StaffForm,
    store: Store,
    catalog: Catalog,
    client_id: str,
    change: Callable[[Admin], object],
    failure: str,
    field: str,
    done: str,
    **options: Any,  # refusal, errors, keep: as in `try_change`
) -> Response:
    """`try_change`, and when the change was made the browser back on the
    client page (post/redirect/get), `done` saying what was done."""
    failed = try_change(
        request, form, store, catalog, client_id, change, failure, field, **options
    )
    if failed is not None:
        return failed
    return RedirectResponse(client_url(client_id, done), status_code=303)


@router.post("/asiakkaat/{client_id}/siirra")
async def move_client(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    return client_change(
        request, form, store, catalog, client_id,
        lambda admin: admin.advance(client_id, form.get("to") or None),
        "Siirto ei onnistunut. Valitse yksi sallituista seuraavista vaiheista.",
        "siirra", "siirretty",
    )  # fmt: skip


@router.post("/asiakkaat/{client_id}/nimea")
async def assign_professional(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    return client_change(
        request, form, store, catalog, client_id,
        lambda admin: admin.assign(client_id, form.get("role"), form.get("pro")),
        "Nimeäminen ei onnistunut. Valitse rooli ja ammattilainen. "
        "Sama ammattilainen voi olla samassa roolissa vain kerran.",
        "nimea", "nimetty",
    )  # fmt: skip


@router.post("/asiakkaat/{client_id}/poista-nimeaminen")
async def unassign_professional(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    failed = try_change(
        request, form, store, catalog, client_id,
        lambda admin: admin.unassign(client_id, form.get("role"), form.get("pro")),
        "Nimeämistä ei löytynyt. Se on ehkä jo poistettu.",
        "nimetyt",
    )  # fmt: skip
    if failed is not None:
        return failed
    # A worker who removed themselves no longer sees the client.
    if visible_after(store, form.session, client_id):
        return RedirectResponse(client_url(client_id, "poistettu"), status_code=303)
    return RedirectResponse(f"{PREFIX}/asiakkaat", status_code=303)


def visible_after(store: Store, session: StaffSession, client_id: str) -> bool:
    try:
        visible_client(store, session, client_id)
    except HTTPException:
        return False
    return True


@router.post("/asiakkaat/{client_id}/paata")
async def end_service(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    def end(admin: Admin) -> None:
        ended_on = date.fromisoformat(form.get("on")) if form.get("on") else None
        if ended_on and ended_on > date.today():
            raise ValueError("in the future")
        admin.end(client_id, ended_on)

    confirmed = form.get("confirm") == "kylla"
    return client_change(
        request, form, store, catalog, client_id, end,
        "Palvelun päättäminen ei onnistunut. Tarkista päivämäärä.",
        "paata", "paatetty",
        refusal=None if confirmed else "Vahvista päättäminen rastittamalla ruutu.",
        errors=(PolkuopasError, ValueError),
    )  # fmt: skip


def qr_svg(link: str) -> str:
    """The link as an inline SVG QR code (segno: no image file, no script)."""
    label = "QR-koodi henkilökohtaiseen linkkiin"
    svg = segno.make(link, error="m").svg_inline(scale=5, omitsize=True, title=label)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def slip_contact(store: Store, catalog: Catalog, session: StaffSession, client_id: str):
    """Whom the printed slip tells the client to call: their coordinator (the
    person the chat offers), else the worker who made the link."""
    view = load_view(store, catalog, client_id)
    main = main_contacts(view) if view else None
    pros = [p for p in (main[1] if main else []) if p.phone]
    own = store.find_professional(session.staff.professional_id or "")
    return pros[0] if pros else (own if own and own.active else None)


@router.post("/asiakkaat/{client_id}/linkki")
async def create_link(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
    settings: SettingsDep,
):
    """A new personal link, shown on this one answer and never again: only its
    hash is stored, and the page is not cached (no-store on /tyotila)."""
    client = visible_client(store, form.session, client_id)
    if client.ended:
        text = "Palvelu on päättynyt. Uutta linkkiä ei voi luoda."
        return change_failed(
            request, form.session, store, catalog, client_id, text, "linkki"
        )
    days = settings.token_days
    raw = staff_admin(store, catalog, form.session).issue_token(client_id, days)
    base = settings.link_base.split("#", 1)[0]
    link = f"{base}#token={raw}"
    return render(
        request,
        "tyotila/linkki.html",
        form.session,
        active="asiakkaat",
        client=client,
        link=link,
        qr=qr_svg(link),
        expires=token_expiry(days).date().isoformat(),
        contact=slip_contact(store, catalog, form.session, client_id),
    )


@router.post("/asiakkaat/{client_id}/linkki/peru")
async def revoke_links(
    client_id: str,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    visible_client(store, form.session, client_id)
    staff_admin(store, catalog, form.session).revoke_tokens(client_id)
    return RedirectResponse(client_url(client_id, "peruttu"), status_code=303)


@router.get("/asiakkaat/{client_id}/esitys")
async def walk_through(
    client_id: str,
    request: Request,
    session: StaffDep,
    store: StoreDep,
    catalog: CatalogDep,
    vaihe: Annotated[int | None, Query(ge=1, le=100)] = None,
):
    from polkuopas.web.staff.plan import own_path_context

    """ "Käydään polku läpi yhdessä": the client's path for the meeting, one
    step a screen in large text with the client's own professionals; printed,
    every step on A4."""
    visible_client(store, session, client_id)
    view = load_view(store, catalog, client_id)
    if view is None:
        raise HTTPException(404, "unknown client")
    payload = path_payload(catalog, view.path, view)
    steps = payload["steps"]
    current = next(s["number"] for s in steps if s["id"] == view.client.current_step)
    shown = min(vaihe or current, len(steps))
    return render(
        request,
        "tyotila/esitys.html",
        session,
        active="asiakkaat",
        client=view.client,
        path=view.path,
        steps=steps,
        shown=shown,
        **own_path_context(store, client_id),
    )
