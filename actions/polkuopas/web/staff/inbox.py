"""The worker's inbox: contact requests from the chat (/tyotila/yhteydenotot),
the signed-in worker's (naming them, or from a client assigned to them; all
for an admin), marked done with a note; and the follow-up contacts of their
ended clients (/tyotila/jalkikontaktit), marked done. Both through the CLI's
audited code."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from polkuopas.admin import NOTE_MAX
from polkuopas.errors import PolkuopasError
from polkuopas.store import StaffSession, Store
from polkuopas.web.api import CatalogDep, StoreDep
from polkuopas.web.staff.session import (
    PREFIX,
    StaffDep,
    StaffFormDep,
    may_see_client,
    render,
    require_client_work,
    staff_admin,
)

router = APIRouter()
INBOX = f"{PREFIX}/yhteydenotot"


def own_requests(store: Store, session: StaffSession) -> list[dict]:
    staff = session.staff
    pro = None if staff.role == "admin" else staff.professional_id
    if pro is None and staff.role != "admin":
        return []
    return store.open_contact_requests_for(pro)


def inbox_page(
    request: Request,
    session: StaffSession,
    store: Store,
    catalog,
    status: int = 200,
    error: str | None = None,
    error_id: int | None = None,
):
    rows = []
    for row in own_requests(store, session):
        pro = store.find_professional(row["professional_id"] or "")
        role = catalog.roles.get(row["role"] or "")
        rows.append(
            {
                **row,
                "pro_name": pro.name if pro else None,
                "role_title": role.title if role else None,
                "linked": may_see_client(store, session, row["client_id"]),
            }
        )
    done = request.query_params.get("tehty") == "kuitattu"
    return render(
        request,
        "tyotila/yhteydenotot.html",
        session,
        status=status,
        active="yhteydenotot",
        rows=rows,
        note_max=NOTE_MAX,
        message="Yhteydenottopyyntö on merkitty hoidetuksi." if done else None,
        error=error,
        error_id=error_id,
    )


@router.get("/yhteydenotot")
async def inbox(
    request: Request, session: StaffDep, store: StoreDep, catalog: CatalogDep
):
    require_client_work(session)
    return inbox_page(request, session, store, catalog)


@router.post("/yhteydenotot/{request_id}/hoidettu")
async def mark_done(
    request_id: int,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    require_client_work(form.session)
    if request_id not in {r["id"] for r in own_requests(store, form.session)}:
        raise HTTPException(404, "unknown contact request")
    try:
        staff_admin(store, catalog, form.session).contact_request_handled(
            request_id, form.get("note")
        )
    except PolkuopasError:
        text = f"Merkintä ei onnistunut. Muistiinpanossa voi olla {NOTE_MAX} merkkiä."
        return inbox_page(request, form.session, store, catalog, 400, text, request_id)
    return RedirectResponse(f"{INBOX}?tehty=kuitattu", status_code=303)


# --- follow-up contacts --------------------------------------------------------

FOLLOWUPS = f"{PREFIX}/jalkikontaktit"


def own_followups(store: Store, session: StaffSession) -> list:
    return [
        f for f in store.open_followups() if may_see_client(store, session, f.client_id)
    ]


@router.get("/jalkikontaktit")
async def followups(
    request: Request, session: StaffDep, store: StoreDep, catalog: CatalogDep
):
    require_client_work(session)
    today = date.today().isoformat()
    rows = [
        {
            "followup": f,
            "role_title": catalog.roles[f.role].title
            if f.role in catalog.roles
            else f.role,
            "due": f.due_on <= today,
            "late": f.due_by < today,
        }
        for f in own_followups(store, session)
    ]
    done = request.query_params.get("tehty") == "jalkikontakti"
    return render(
        request,
        "tyotila/jalkikontaktit.html",
        session,
        active="jalkikontaktit",
        rows=rows,
        message="Jälkikontakti on merkitty tehdyksi." if done else None,
    )


@router.post("/jalkikontaktit/{client_id}/tehty")
async def followup_done(
    client_id: str, form: StaffFormDep, store: StoreDep, catalog: CatalogDep
):
    require_client_work(form.session)
    if client_id not in {f.client_id for f in own_followups(store, form.session)}:
        raise HTTPException(404, "unknown follow-up contact")
    staff_admin(store, catalog, form.session).followup_done(client_id)
    return RedirectResponse(f"{FOLLOWUPS}?tehty=jalkikontakti", status_code=303)
