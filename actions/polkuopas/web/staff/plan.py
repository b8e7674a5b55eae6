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

from polkuopas.admin import Admin
from polkuopas.answers import clock, load_own_path, load_view, meeting_is_past
from polkuopas.errors import PolkuopasError
from polkuopas.store import Store
from polkuopas.web.api import CatalogDep, StoreDep
from polkuopas.web.staff.clients import DONE, client_change
from polkuopas.web.staff.session import (
    StaffDep,
    StaffFormDep,
    render,
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
    def meet(admin: Admin) -> None:
        meets_on = day(form.get("on"))
        if meets_on is None:
            raise ValueError("no date")
        admin.set_meeting(
            client_id, meets_on, form.get("at"), form.get("place"), form.get("with")
        )

    return client_change(
        request, form, store, catalog, client_id, meet,
        "Tapaamisen tallentaminen ei onnistunut. Anna päivä (tänään tai "
        "myöhemmin), kellonaika, paikka ja kenen kanssa.",
        "tapaaminen", "tapaaminen",
        errors=(PolkuopasError, ValueError), keep=MEETING_FIELDS,
    )  # fmt: skip


@router.post("/asiakkaat/{client_id}/tapaaminen/poista")
async def clear_meeting(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    return client_change(
        request, form, store, catalog, client_id,
        lambda admin: admin.clear_meeting(client_id),
        "Tapaamista ei löytynyt. Se on ehkä jo poistettu.",
        "tapaaminen", "tapaaminen-poistettu",
    )  # fmt: skip


@router.post("/asiakkaat/{client_id}/oma-polku")
async def add_item(
    client_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    def write(admin: Admin) -> None:
        due = day(form.get("due"))
        if form.get("due") and due is None:
            raise ValueError("bad date")
        admin.add_own_path_item(
            client_id, form.get("kind"), form.get("text"), due, client_agreed=True
        )

    agreed = form.get("agreed") == "kylla"
    return client_change(
        request, form, store, catalog, client_id, write,
        "Kirjausta ei tallennettu. Valitse laji ja kirjoita teksti "
        "(enintään 500 merkkiä). Sovitulle tehtävälle anna päivä.",
        "oma-polku", "kirjattu",
        refusal=None if agreed else (
            "Kirjausta ei tallennettu. Kirjoita vain se, mihin asiakas suostuu, "
            "ja rastita ruutu, kun asiakas on suostunut."
        ),
        errors=(PolkuopasError, ValueError), keep=ITEM_FIELDS,
    )  # fmt: skip


@router.post("/asiakkaat/{client_id}/oma-polku/{item_id}/poista")
async def remove_item(
    client_id: str,
    item_id: int,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    return client_change(
        request, form, store, catalog, client_id,
        lambda admin: admin.remove_own_path_item(client_id, item_id),
        "Kirjausta ei löytynyt. Se on ehkä jo poistettu.",
        "oma-polku", "kirjaus-poistettu",
    )  # fmt: skip


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
