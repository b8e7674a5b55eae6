"""Demo data: the seeds' example clients with named (fictional) professionals.

`polkuopas demo` runs `seed_demo`; it adds whatever is missing and leaves what
is there, so it can run at every `make run`. Names, numbers and addresses are
made up (`esimerkki.fi` is an example domain); the organisations are the seeds'.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from polkuopas.admin import Admin

PH = "Päijät-Hämeen hyvinvointialue"
LAHTI_EMPLOYMENT = "Lahden seudun työllisyysalue"
WORKSHOP = "Lahden Työpaja"
KYMSOTE = "Kymenlaakson hyvinvointialue (Kymsote)"
KOUVOLA_EMPLOYMENT = "Kouvolan seudun työllisyysalue"

# id, name, main role, organisation, phone, email, hours
PROFESSIONALS: list[tuple[str, str, str, str, str, str, str]] = [
    ("ph-riikka", "Riikka Laine", "asiakasohjaaja", PH, "040 000 1001",
     "riikka.laine@esimerkki.fi", "ma–to klo 9–11"),
    ("ph-markku", "Markku Heinonen", "palvelukoordinaattori", PH, "040 000 1002",
     "markku.heinonen@esimerkki.fi", "ti ja to klo 12–14"),
    ("ph-jenni", "Jenni Koskinen", "tyohonvalmentaja", PH, "040 000 1003",
     "jenni.koskinen@esimerkki.fi", "ma–pe klo 8–16, tekstiviesti käy aina"),
    ("ph-anna", "Anna Virtanen", "omatyontekija", PH, "040 000 1004",
     "anna.virtanen@esimerkki.fi", "ma ja ke klo 9–11"),
    ("ph-pekka", "Pekka Nieminen", "te_asiantuntija", LAHTI_EMPLOYMENT,
     "040 000 1005", "pekka.nieminen@esimerkki.fi", "ma–pe klo 9–15"),
    ("ph-mika", "Mika Salonen", "ohjaaja", WORKSHOP, "040 000 1006",
     "mika.salonen@esimerkki.fi", "työpajalla ma–to klo 8–14"),
    ("ph-sari", "Sari Lehtonen", "tyovalmentaja", WORKSHOP, "040 000 1007",
     "sari.lehtonen@esimerkki.fi", "työpajalla ma–to klo 8–14"),
    ("ky-laura", "Laura Mäkinen", "sosiaaliohjaaja", KYMSOTE, "040 000 2001",
     "laura.makinen@esimerkki.fi", "ma–to klo 9–11"),
    ("ky-antti", "Antti Karjalainen", "te_asiantuntija", KOUVOLA_EMPLOYMENT,
     "040 000 2002", "antti.karjalainen@esimerkki.fi", "ma–pe klo 9–15"),
    ("ky-heidi", "Heidi Hämäläinen", "terveydenhoitaja", KYMSOTE, "040 000 2003",
     "heidi.hamalainen@esimerkki.fi", "ma–pe klo 8–9 puhelinaika"),
    ("ky-juha", "Juha Rantanen", "laakari", KYMSOTE, "040 000 2004",
     "juha.rantanen@esimerkki.fi", "ajanvaraus terveydenhoitajan kautta"),
    ("ky-timo", "Timo Järvinen", "fysioterapeutti", KYMSOTE, "040 000 2005",
     "timo.jarvinen@esimerkki.fi", "ti ja to klo 12–13"),
]  # fmt: skip


# One workspace account per staff role: id, name, e-mail (the sign-in), role,
# professional record. No password here: `make run` sets a fresh one at every
# start (`polkuopas staff password ID`) and prints it.
STAFF: list[tuple[str, str, str, str, str | None]] = [
    ("demo-tyontekija", "Anna Virtanen", "tyontekija@esimerkki.fi", "tyontekija",
     "ph-anna"),
    ("demo-polun-omistaja", "Pia Polkunen", "polun-omistaja@esimerkki.fi",
     "polun_omistaja", None),
    ("demo-admin", "Aki Ylläpitäjä", "admin@esimerkki.fi", "admin", None),
]  # fmt: skip


@dataclass(frozen=True)
class DemoClient:
    id: str
    label: str  # who this is, for the demo page and `make run`
    path_id: str
    step_id: str
    started_days_ago: int
    assignments: list[tuple[str, str]] = field(default_factory=list)  # role, pro
    ended_days_ago: int | None = None
    # The next meeting (in days from the seeding, time, place, with whom) and
    # the client's own path (kind, text, due in days or None), as written with
    # the client in the workspace; seeded only when the client has none.
    meeting: tuple[int, str, str, str] | None = None
    own_path: list[tuple[str, str, int | None]] = field(default_factory=list)


CLIENTS: list[DemoClient] = [
    DemoClient(
        "demo-valtteri",
        "Valtteri, vammaispalvelujen työhönvalmennus",
        "tyohonvalmennus-vammaispalvelut",
        "tyonhaku",
        120,
        [
            ("asiakasohjaaja", "ph-riikka"),
            ("palvelukoordinaattori", "ph-markku"),
            ("tyohonvalmentaja", "ph-jenni"),
        ],
    ),
    DemoClient(
        "demo-suvi",
        "Suvi, kuntouttava työtoiminta",
        "kuntouttava-tyotoiminta",
        "tyotehtavat",
        60,
        [
            ("omatyontekija", "ph-anna"),
            ("te_asiantuntija", "ph-pekka"),
            ("ohjaaja", "ph-mika"),
            ("tyovalmentaja", "ph-sari"),
        ],
        meeting=(7, "10:00", "Lahden Työpaja, Aleksanterinkatu 1", "Anna Virtanen"),
        own_path=[
            ("goal", "Haluan jaksaa olla töissä neljä päivää viikossa.", None),
            ("try", "Haluan kokeilla keittiötöitä.", None),
            ("action", "Kysyn Mikalta, voinko olla keittiössä yhden päivän.", 5),
        ],
    ),
    DemoClient(
        "demo-mika",
        "Mika, työkykytiimin asiakas (asiakasvastaavapari)",
        "tyokykytiimi-asiakasvastaava",
        "tyokyvyn_arviointi",
        45,
        [
            # The coordinator pair: two professionals in the asiakasvastaava role.
            ("asiakasvastaava", "ky-laura"),
            ("asiakasvastaava", "ky-antti"),
            ("terveydenhoitaja", "ky-heidi"),
            ("laakari", "ky-juha"),
            ("fysioterapeutti", "ky-timo"),
        ],
    ),
    DemoClient(
        "demo-paattynyt",
        "Työtoiminnan päättänyt asiakas, jälkikontakti tulossa",
        "kuntouttava-tyotoiminta",
        "paattyminen",
        240,
        [("omatyontekija", "ph-anna"), ("te_asiantuntija", "ph-pekka")],
        ended_days_ago=40,
    ),
]


def seed_demo(admin: Admin, today: date | None = None) -> Iterator[str]:
    """Add the demo professionals and clients that are missing; say what it did."""
    today = today or date.today()
    store = admin.store
    added = 0
    for pro_id, name, role, org, phone, email, hours in PROFESSIONALS:
        if store.find_professional(pro_id) is None:
            admin.add_professional(pro_id, name, role, org, phone, email, hours)
            added += 1
    kept = len(PROFESSIONALS) - added
    yield f"demo professionals: {added} added, {kept} already there"
    for demo in CLIENTS:
        changes = []
        if store.find_client(demo.id) is None:
            admin.add_client(
                demo.id,
                demo.path_id,
                demo.step_id,
                today - timedelta(days=demo.started_days_ago),
            )
            changes.append("added")
        have = {(a.role, a.professional.id) for a in store.assignments(demo.id)}
        for role, pro_id in demo.assignments:
            if (role, pro_id) not in have:
                admin.assign(demo.id, role, pro_id)
                changes.append(f"{role}={pro_id}")
        if demo.meeting and store.find_meeting(demo.id) is None:
            days, at_time, place, with_whom = demo.meeting
            meets_on = today + timedelta(days=days)
            admin.set_meeting(demo.id, meets_on, at_time, place, with_whom, today)
            changes.append("next meeting")
        if demo.own_path and not store.own_path_items(demo.id):
            for kind, text, due_in in demo.own_path:
                due_on = today + timedelta(days=due_in) if due_in is not None else None
                admin.add_own_path_item(demo.id, kind, text, due_on, client_agreed=True)
            changes.append("own path")
        if demo.ended_days_ago is not None and not store.get_client(demo.id).ended:
            admin.end(demo.id, today - timedelta(days=demo.ended_days_ago))
            changes.append("ended")
        state = ", ".join(changes) if changes else "already there"
        yield f"demo client {demo.id} ({demo.label}): {state}"
    added = 0
    for staff_id, name, email, role, pro_id in STAFF:
        if store.find_staff(staff_id) is None:
            admin.add_staff(staff_id, name, email, role, pro_id)
            added += 1
        # The demo path owner owns every path (a store from before the paths
        # were limited gets them too).
        if role == "polun_omistaja" and not store.staff_paths(staff_id):
            admin.set_staff_paths(staff_id, list(admin.catalog.paths))
    yield (
        "demo staff accounts (passwords: polkuopas staff password ID): "
        f"{added} added, {len(STAFF) - added} already there"
    )
