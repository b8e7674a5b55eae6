"""The next meeting and the client's own path on the client page: set and
clear the meeting (date, time, place, with whom), write a goal, something the
client wants to try or an agreed next action (only with the box "the client
agreed to this being written" ticked), delete an item, and the printable own
path (/tyotila/asiakkaat/{id}/oma-polku).

As in `clients`: every route finds the client through `visible_client`, every
change goes through `polkuopas.admin.Admin` with the staff member as the actor,
and a refused change shows the client page again with the fields as they were
sent, so nothing written with the client is lost.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from polkuopas.answers import clock, load_own_path, load_view, meeting_is_past
from polkuopas.catalog import Catalog
from polkuopas.errors import PolkuopasError
from polkuopas.store import Store
from polkuopas.web.api import CatalogDep, StoreDep
from polkuopas.web.staff.clients import DONE, change_failed, client_url
from polkuopas.web.staff.session import (
    StaffDep,
    StaffForm,
    StaffFormDep,
    render,
    staff_admin,
    visible_client,
)

router = APIRouter()

# What the client page says after a change here (?tehty=...).
DONE.update(
    {
        "tapaaminen": "Seuraava tapaaminen on tallennettu.",
        "tapaaminen-poistettu": "Seuraava tapaaminen on poistettu.",
        "kirjattu": "Kirjaus on tallennettu asiakkaan omaan polkuun.",
        "kirjaus-poistettu": "Kirjaus on poistettu asiakkaan omasta polusta.",
    }
)
# The kinds of the own path's items, as the forms and pages name them.
KINDS = {
    "goal": "Tavoite asiakkaan omin sanoin",
    "try": "Mitä asiakas haluaa kokeilla",
    "action": "Sovittu seuraava tehtävä",
}
# The form fields sent back to a refused form, so nothing is lost.
MEETING_FIELDS = ("on", "at", "place", "with")
ITEM_FIELDS = ("kind", "text", "due", "agreed")


def own_path_context(store: Store, client_id: str) -> dict[str, Any]:
    """What the client page's pieces (_tapaaminen.html, _oma_polku.html) show."""
    own = load_own_path(store, client_id)
    return {
        "own": own,
        "meeting_past": own.meeting is not None and meeting_is_past(own.meeting),
        "meeting_clock": clock(own.meeting.at_time) if own.meeting else "",
        "kinds": KINDS,
        "sent": {},
    }


def refused(
    request: Request, form: StaffForm, store: Store, catalog: Catalog,
    client_id: str, text: str, field: str, fields: tuple[str, ...],
) -> Response:  # fmt: skip
    """The client page again, with the form's fields as they were sent."""
    sent = {name: form.get(name) for name in fields}
    return change_failed(
        request, form.session, store, catalog, client_id, text, field, sent=sent
    )


def day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.post("/asiakkaat/{client_id}/tapaaminen")
async def set_meeting(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    visible_client(store, form.session, client_id)
    meets_on = day(form.get("on"))
    try:
        if meets_on is None:
            raise ValueError("no date")
        staff_admin(store, catalog, form.session).set_meeting(
            client_id, meets_on, form.get("at"), form.get("place"), form.get("with")
        )
    except (PolkuopasError, ValueError):
        text = (
            "Tapaamisen tallentaminen ei onnistunut. Anna päivä (tänään tai "
            "myöhemmin), kellonaika, paikka ja kenen kanssa."
        )
        return refused(
            request, form, store, catalog, client_id, text, "tapaaminen",
            MEETING_FIELDS,
        )  # fmt: skip
    return RedirectResponse(client_url(client_id, "tapaaminen"), status_code=303)


@router.post("/asiakkaat/{client_id}/tapaaminen/poista")
async def clear_meeting(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    visible_client(store, form.session, client_id)
    try:
        staff_admin(store, catalog, form.session).clear_meeting(client_id)
    except PolkuopasError:
        text = "Tapaamista ei löytynyt. Se on ehkä jo poistettu."
        return change_failed(
            request, form.session, store, catalog, client_id, text, "tapaaminen"
        )
    return RedirectResponse(
        client_url(client_id, "tapaaminen-poistettu"), status_code=303
    )


@router.post("/asiakkaat/{client_id}/oma-polku")
async def add_item(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    visible_client(store, form.session, client_id)
    if form.get("agreed") != "kylla":
        text = (
            "Kirjausta ei tallennettu. Kirjoita vain se, mihin asiakas suostuu, "
            "ja rastita ruutu, kun asiakas on suostunut."
        )
        return refused(
            request, form, store, catalog, client_id, text, "oma-polku", ITEM_FIELDS
        )
    due = day(form.get("due"))
    try:
        if form.get("due") and due is None:
            raise ValueError("bad date")
        staff_admin(store, catalog, form.session).add_own_path_item(
            client_id, form.get("kind"), form.get("text"), due, client_agreed=True
        )
    except (PolkuopasError, ValueError):
        text = (
            "Kirjausta ei tallennettu. Valitse laji ja kirjoita teksti "
            "(enintään 500 merkkiä). Sovitulle tehtävälle anna päivä."
        )
        return refused(
            request, form, store, catalog, client_id, text, "oma-polku", ITEM_FIELDS
        )
    return RedirectResponse(client_url(client_id, "kirjattu"), status_code=303)


@router.post("/asiakkaat/{client_id}/oma-polku/{item_id}/poista")
async def remove_item(
    client_id: str,
    item_id: int,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    visible_client(store, form.session, client_id)
    try:
        staff_admin(store, catalog, form.session).remove_own_path_item(
            client_id, item_id
        )
    except PolkuopasError:
        text = "Kirjausta ei löytynyt. Se on ehkä jo poistettu."
        return change_failed(
            request, form.session, store, catalog, client_id, text, "oma-polku"
        )
    return RedirectResponse(client_url(client_id, "kirjaus-poistettu"), status_code=303)


@router.get("/asiakkaat/{client_id}/oma-polku")
async def printable(
    client_id: str,
    request: Request,
    session: StaffDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    """The client's own path on one A4 page, to print and give to the client."""
    visible_client(store, session, client_id)
    view = load_view(store, catalog, client_id)
    if view is None:
        raise HTTPException(404, "unknown client")
    return render(
        request,
        "tyotila/oma_polku.html",
        session,
        active="asiakkaat",
        client=view.client,
        path=view.path,
        step=view.step,
        **own_path_context(store, client_id),
    )
