"""What the CLI does, in the browser: adding a client (/tyotila/uusi-asiakas),
the professionals and their contact details and office hours
(/tyotila/ammattilaiset), and the staff accounts (/tyotila/henkilosto).

Who may do what:
- a worker (tyontekija) adds a client assigned to themselves, in their
  professional record's main role (they would not see a client they added for
  someone else); the rest of the assignments they make on the client page;
- an admin adds clients (assigned to anyone, or to no one yet), adds and edits
  professionals, and manages the staff accounts: add, role, professional
  record, the paths of a path owner, a new password, disable;
- a path owner (polun_omistaja) does none of this.

Every change goes through `polkuopas.admin.Admin`, the CLI's one-transaction
audited code, with the staff member as the actor; the CLI's checks (ids, phone
numbers, the password policy) give the form's message, in Finnish.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from polkuopas.admin import HOURS_MAX, STAFF_ROLES, Admin
from polkuopas.catalog import Catalog
from polkuopas.errors import Conflict, Invalid, PolkuopasError
from polkuopas.passwords import MIN_LENGTH
from polkuopas.store import StaffSession, Store
from polkuopas.web.api import CatalogDep, StoreDep
from polkuopas.web.staff.session import (
    PREFIX,
    StaffDep,
    StaffForm,
    StaffFormDep,
    render,
    require_client_work,
    staff_admin,
)

router = APIRouter()

STAFF = f"{PREFIX}/henkilosto"
PROS = f"{PREFIX}/ammattilaiset"
NEW_CLIENT = f"{PREFIX}/uusi-asiakas"
ROLE_TITLES = {
    "tyontekija": "Työntekijä",
    "polun_omistaja": "Polun omistaja",
    "admin": "Ylläpitäjä",
}
ID_HELP = "1–64 merkkiä: kirjaimia a–z, numeroita, viiva, alaviiva tai piste."
DONE = {
    "lisatty": "Käyttäjä on lisätty. Aseta hänelle salasana alla.",
    "muutettu": "Käyttäjän rooli on muutettu. Hänen istuntonsa päättyivät.",
    "polut": "Polun omistajan polut on tallennettu.",
    "salasana": "Uusi salasana on asetettu. Käyttäjän istunnot päättyivät.",
    "pois": "Käyttäjä on poistettu käytöstä. Hän ei voi enää kirjautua.",
    "ammattilainen": "Ammattilainen on lisätty.",
    "tiedot": "Ammattilaisen tiedot on tallennettu.",
}


def require_admin(session: StaffSession) -> None:
    if session.staff.role != "admin":
        raise HTTPException(403, "not for this role")


def done_message(request: Request) -> str | None:
    return DONE.get(request.query_params.get("tehty", ""))


def blank_none(value: str) -> str | None:
    return value or None


def admin_change(
    form: StaffForm,
    store: Store,
    catalog: Catalog,
    change: Callable[[Admin], object],
    again: Callable[..., Response],
    problem: Callable[[PolkuopasError], tuple[str, str]],
    done: str,
    refusal: tuple[str, str] | None = None,
) -> Response:
    """An admin's change from a form, post/redirect/get.

    `require_admin` runs here (again, for the routes that check it before
    their 404), so nothing is written without it. Then `refusal` (the field and
    text of a check the form did not pass) or a change refused (`problem`
    gives the field and text for the error) shows the form's page `again`
    (400); a change made sends the browser to `done`. `change` gets the staff
    member's `Admin`.
    """
    require_admin(form.session)
    if refusal is None:
        try:
            change(staff_admin(store, catalog, form.session))
        except PolkuopasError as exc:
            refusal = problem(exc)
        else:
            return RedirectResponse(done, status_code=303)
    field, text = refusal
    return again(status=400, error=text, error_field=field)


# --- adding a client ------------------------------------------------------------


def own_professional(store: Store, session: StaffSession):
    pro_id = session.staff.professional_id
    pro = store.find_professional(pro_id) if pro_id else None
    return pro if pro is not None and pro.active else None


def new_client_page(
    request: Request,
    session: StaffSession,
    store: Store,
    catalog: Catalog,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    is_admin = session.staff.role == "admin"
    return render(
        request,
        "tyotila/uusi-asiakas.html",
        session,
        status=status,
        active="asiakkaat",
        paths=list(catalog.paths.values()),
        roles=sorted(catalog.roles.values(), key=lambda r: r.title),
        professionals=[p for p in store.list_professionals() if p.active]
        if is_admin
        else [],
        own=own_professional(store, session),
        role_titles={r.id: r.title for r in catalog.roles.values()},
        is_admin=is_admin,
        values=values or {},
        error=error,
        error_field=error_field,
        id_help=ID_HELP,
        today=date.today().isoformat(),
    )


@router.get("/uusi-asiakas")
async def new_client_form(
    request: Request, session: StaffDep, store: StoreDep, catalog: CatalogDep
):
    require_client_work(session)
    return new_client_page(request, session, store, catalog)


@router.post("/uusi-asiakas")
async def add_client(
    request: Request, form: StaffFormDep, store: StoreDep, catalog: CatalogDep
):
    session = form.session
    require_client_work(session)
    values = {k: form.get(k) for k in ("id", "path", "step", "start", "role", "pro")}

    def failed(text: str, field: str) -> Response:
        return new_client_page(
            request, session, store, catalog, 400, text, field, values
        )

    path = catalog.paths.get(values["path"])
    if path is None:
        return failed("Valitse polku.", "path")
    step = values["step"] or None
    if step is not None and not path.has_step(step):
        return failed("Valitse vaihe, joka on valitulla polulla.", "step")
    try:
        started = date.fromisoformat(values["start"]) if values["start"] else None
    except ValueError:
        return failed("Kirjoita aloituspäivä muodossa vvvv-kk-pp.", "start")
    if session.staff.role == "admin":
        assign = None
        if values["pro"]:
            if values["role"] not in catalog.roles:
                return failed("Valitse ammattilaiselle rooli.", "assign")
            assign = (values["role"], values["pro"])
    else:
        own = own_professional(store, session)
        if own is None or own.role not in catalog.roles:
            return failed(
                "Käyttäjätunnukseesi ei ole liitetty ammattilaista. "
                "Pyydä ylläpitäjää lisäämään asiakas.",
                "id",
            )
        assign = (own.role, own.id)
    try:
        staff_admin(store, catalog, session).add_client(
            values["id"], path.id, step, started, assign
        )
    except Conflict as exc:
        if "already exists" in str(exc):
            return failed("Tällä tunnuksella on jo asiakas. Valitse toinen.", "id")
        return failed("Ammattilaista ei voi nimetä. Hän ei ole käytössä.", "assign")
    except Invalid:
        return failed(f"Tunnus ei kelpaa. {ID_HELP}", "id")
    except PolkuopasError:
        return failed("Valitse ammattilainen listasta.", "assign")
    return RedirectResponse(
        f"{PREFIX}/asiakkaat/{values['id']}?tehty=lisatty", status_code=303
    )


# --- professionals ----------------------------------------------------------------


def pros_page(
    request: Request,
    session: StaffSession,
    store: Store,
    catalog: Catalog,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "tyotila/ammattilaiset.html",
        session,
        status=status,
        active="ammattilaiset",
        professionals=store.list_professionals(),
        roles=sorted(catalog.roles.values(), key=lambda r: r.title),
        role_titles={r.id: r.title for r in catalog.roles.values()},
        values=values or {},
        message=done_message(request),
        error=error,
        error_field=error_field,
        id_help=ID_HELP,
        hours_max=HOURS_MAX,
    )


PRO_PROBLEMS = (
    ("phone", "Puhelinnumero ei kelpaa. Käytä numeroita, välilyöntejä "
              "ja merkkejä + ( ) -."),
    ("email", "Sähköpostiosoite ei kelpaa."),
    ("hours", f"Tavoitettavuus on liian pitkä. Siinä voi olla {HOURS_MAX} merkkiä."),
    ("name", "Kirjoita nimi."),
)  # fmt: skip


def pro_problem(exc: PolkuopasError) -> tuple[str, str]:
    """The field and Finnish message for the CLI's error."""
    text = str(exc)
    if isinstance(exc, Conflict):
        return "id", "Tällä tunnuksella on jo ammattilainen. Valitse toinen."
    for field, message in PRO_PROBLEMS:
        if field in text:
            return field, message
    if "role" in text:
        return "role", "Valitse rooli."
    return "id", f"Tunnus ei kelpaa. {ID_HELP}"


@router.get("/ammattilaiset")
async def professionals(
    request: Request, session: StaffDep, store: StoreDep, catalog: CatalogDep
):
    require_admin(session)
    return pros_page(request, session, store, catalog)


@router.post("/ammattilaiset")
async def add_professional(
    request: Request, form: StaffFormDep, store: StoreDep, catalog: CatalogDep
):
    keys = ("id", "name", "role", "organisation", "phone", "email", "hours")
    values = {k: form.get(k) for k in keys}
    return admin_change(
        form,
        store,
        catalog,
        lambda admin: admin.add_professional(
            values["id"],
            values["name"],
            values["role"],
            values["organisation"],
            blank_none(values["phone"]),
            blank_none(values["email"]),
            blank_none(values["hours"][:HOURS_MAX]),
        ),
        partial(pros_page, request, form.session, store, catalog, values=values),
        pro_problem,
        f"{PROS}?tehty=ammattilainen",
    )


def pro_page(
    request: Request,
    session: StaffSession,
    store: Store,
    catalog: Catalog,
    pro_id: str,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    pro = store.find_professional(pro_id)
    if pro is None:
        raise HTTPException(404, "unknown professional")
    role = catalog.roles.get(pro.role)
    return render(
        request,
        "tyotila/ammattilainen.html",
        session,
        status=status,
        active="ammattilaiset",
        pro=pro,
        role_title=role.title if role else pro.role,
        values=values
        or {
            "phone": pro.phone or "",
            "email": pro.email or "",
            "hours": pro.hours or "",
        },
        message=done_message(request),
        error=error,
        error_field=error_field,
        hours_max=HOURS_MAX,
    )


@router.get("/ammattilaiset/{pro_id}")
async def professional(
    pro_id: str,
    request: Request,
    session: StaffDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    require_admin(session)
    return pro_page(request, session, store, catalog, pro_id)


@router.post("/ammattilaiset/{pro_id}")
async def edit_professional(
    pro_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    require_admin(form.session)
    if store.find_professional(pro_id) is None:
        raise HTTPException(404, "unknown professional")
    values = {k: form.get(k) for k in ("phone", "email", "hours")}
    return admin_change(
        form,
        store,
        catalog,
        lambda admin: admin.update_professional(
            pro_id, values["phone"], values["email"], values["hours"]
        ),
        partial(pro_page, request, form.session, store, catalog, pro_id, values=values),
        pro_problem,
        f"{PROS}/{pro_id}?tehty=tiedot",
    )


# --- staff accounts ---------------------------------------------------------------


def staff_list_page(
    request: Request,
    session: StaffSession,
    store: Store,
    catalog: Catalog,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    pros = {p.id: p for p in store.list_professionals()}
    return render(
        request,
        "tyotila/henkilosto.html",
        session,
        status=status,
        active="henkilosto",
        members=store.list_staff(),
        paths_of={
            staff_id: [
                catalog.paths[p].short_name if p in catalog.paths else p
                for p in path_ids
            ]
            for staff_id, path_ids in store.all_staff_paths().items()
        },
        pros=pros,
        active_pros=[p for p in pros.values() if p.active],
        staff_roles=STAFF_ROLES,
        role_titles=ROLE_TITLES,
        values=values or {},
        message=done_message(request),
        error=error,
        error_field=error_field,
        id_help=ID_HELP,
    )


def staff_problem(exc: PolkuopasError) -> tuple[str, str]:
    text = str(exc)
    if isinstance(exc, Conflict):
        if "e-mail" in text:
            return "email", "Sähköpostiosoite on jo toisen käyttäjän."
        return "id", "Tällä tunnuksella on jo käyttäjä. Valitse toinen."
    if "tyontekija" in text:
        return "pro", "Työntekijälle pitää valita ammattilainen."
    if "professional" in text:
        return "pro", "Valitse ammattilainen listasta."
    if "email" in text:
        return "email", "Sähköpostiosoite ei kelpaa."
    if "name" in text:
        return "name", "Kirjoita nimi."
    if "staff role" in text:
        return "role", "Valitse rooli."
    return "id", f"Tunnus ei kelpaa. {ID_HELP}"


@router.get("/henkilosto")
async def staff_list(
    request: Request, session: StaffDep, store: StoreDep, catalog: CatalogDep
):
    require_admin(session)
    return staff_list_page(request, session, store, catalog)


@router.post("/henkilosto")
async def add_staff(
    request: Request, form: StaffFormDep, store: StoreDep, catalog: CatalogDep
):
    values = {k: form.get(k) for k in ("id", "name", "email", "role", "pro")}
    return admin_change(
        form,
        store,
        catalog,
        lambda admin: admin.add_staff(
            values["id"],
            values["name"],
            values["email"],
            values["role"],
            blank_none(values["pro"]),
        ),
        partial(staff_list_page, request, form.session, store, catalog, values=values),
        staff_problem,
        f"{STAFF}/{values['id']}?tehty=lisatty",
    )


def member_page(
    request: Request,
    session: StaffSession,
    store: Store,
    catalog: Catalog,
    staff_id: str,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
) -> Response:
    member = store.find_staff(staff_id)
    if member is None:
        raise HTTPException(404, "unknown staff member")
    return render(
        request,
        "tyotila/kayttaja.html",
        session,
        status=status,
        active="henkilosto",
        member=member,
        own_account=member.id == session.staff.id,
        member_paths=store.staff_paths(member.id),
        paths=list(catalog.paths.values()),
        pro=store.find_professional(member.professional_id or ""),
        active_pros=[p for p in store.list_professionals() if p.active],
        staff_roles=STAFF_ROLES,
        role_titles=ROLE_TITLES,
        min_length=MIN_LENGTH,
        message=done_message(request),
        error=error,
        error_field=error_field,
    )


def member_url(staff_id: str, done: str) -> str:
    return f"{STAFF}/{staff_id}?tehty={done}"


def known_member(store: Store, staff_id: str) -> None:
    if store.find_staff(staff_id) is None:
        raise HTTPException(404, "unknown staff member")


def member_change(
    request: Request,
    form: StaffForm,
    store: Store,
    catalog: Catalog,
    staff_id: str,
    change: Callable[[Admin], object],
    problem: Callable[[PolkuopasError], str],
    field: str,
    done: str,
    refusal: str | None = None,
) -> Response:
    """`admin_change` on a staff member's page: an admin only, a known
    member only (404), the text by the form `field`, back to the page with
    `done` saying what was done."""
    require_admin(form.session)
    known_member(store, staff_id)
    return admin_change(
        form,
        store,
        catalog,
        change,
        partial(member_page, request, form.session, store, catalog, staff_id),
        lambda exc: (field, problem(exc)),
        member_url(staff_id, done),
        None if refusal is None else (field, refusal),
    )


@router.get("/henkilosto/{staff_id}")
async def member(
    staff_id: str,
    request: Request,
    session: StaffDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    require_admin(session)
    return member_page(request, session, store, catalog, staff_id)


@router.post("/henkilosto/{staff_id}/rooli")
async def change_member(
    staff_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    own = staff_id == form.session.staff.id
    return member_change(
        request, form, store, catalog, staff_id,
        lambda admin: admin.change_staff(
            staff_id, form.get("role"), blank_none(form.get("pro"))
        ),
        lambda exc: staff_problem(exc)[1],
        "rooli", "muutettu",
        "Et voi muuttaa omaa rooliasi. Pyydä toista ylläpitäjää." if own else None,
    )  # fmt: skip


@router.post("/henkilosto/{staff_id}/polut")
async def member_paths(
    staff_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    chosen = [p for p in catalog.paths if form.get(f"polku-{p}") == "kylla"]
    return member_change(
        request, form, store, catalog, staff_id,
        lambda admin: admin.set_staff_paths(staff_id, chosen),
        lambda exc: "Polkuja voi liittää vain polun omistajalle.",
        "polut", "polut",
    )  # fmt: skip


PASSWORD_PROBLEMS = (
    ("at least", f"Salasanassa pitää olla vähintään {MIN_LENGTH} merkkiä."),
    ("common", "Salasana on liian yleinen tai helppo arvata. Valitse toinen."),
    ("must not contain", "Salasanassa ei saa olla käyttäjän tunnusta, nimeä "
                         "tai sähköpostia."),
)  # fmt: skip


@router.post("/henkilosto/{staff_id}/salasana")
async def member_password(
    staff_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    require_admin(form.session)
    known_member(store, staff_id)
    password = form.fields.get("password", "")

    def failed(text: str) -> Response:
        return member_page(
            request, form.session, store, catalog, staff_id, 400, text, "salasana"
        )

    if password != form.fields.get("again", ""):
        return failed("Salasanat eivät ole samat. Kirjoita sama salasana kahdesti.")
    try:
        # argon2 takes tens of milliseconds on purpose: not on the event loop.
        await run_in_threadpool(
            staff_admin(store, catalog, form.session).set_staff_password,
            staff_id,
            password,
        )
    except Invalid as exc:
        text = next(
            (m for key, m in PASSWORD_PROBLEMS if key in str(exc)),
            "Salasana ei kelpaa. Valitse toinen.",
        )
        return failed(text)
    if staff_id == form.session.staff.id:  # their own sessions ended too
        return RedirectResponse(f"{PREFIX}/kirjaudu", status_code=303)
    return RedirectResponse(member_url(staff_id, "salasana"), status_code=303)


@router.post("/henkilosto/{staff_id}/poista-kaytosta")
async def disable_member(
    staff_id: str,
    request: Request,
    form: StaffFormDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    refusal = None
    if staff_id == form.session.staff.id:
        refusal = "Et voi poistaa omaa tunnustasi käytöstä."
    elif form.get("confirm") != "kylla":
        refusal = "Vahvista poistaminen käytöstä rastittamalla ruutu."
    return member_change(
        request, form, store, catalog, staff_id,
        lambda admin: admin.disable_staff(staff_id),
        lambda exc: "Käyttäjä on jo poistettu käytöstä.",
        "pois", "pois", refusal,
    )  # fmt: skip
