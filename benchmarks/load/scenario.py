"""What the load test's simulated clients are, say and expect.

Each load client is a person on one of the three service paths, with a
pseudonymous id, a personal token and professionals of their own (made-up
names, unique per client, so an answer naming anyone else's professional is
caught). A conversation is the questions a person asks in one visit, in Finnish
as in data/nlu/ but not the same sentences; each answer is checked for what
that client should be told (their own professional's name and phone, their
step, the next step, their path, ...).

Pure: no network. `seed` writes the clients into a client store through the
admin API, as `polkuopas client add/assign/token` do.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from polkuopas.admin import Admin
from polkuopas.answers import join_names, possessive
from polkuopas.catalog import Catalog, load_catalog
from polkuopas.store import open_store

FIRST_NAMES = (
    "Aino", "Eero", "Helmi", "Ilkka", "Johanna", "Kalle", "Leena", "Mikko",
    "Noora", "Olli", "Pirjo", "Risto", "Sanna", "Tuomas", "Ulla", "Veikko",
    "Hanna", "Jari", "Katja", "Lauri", "Marja", "Niko", "Outi", "Petri",
    "Riikka", "Seppo", "Tiina", "Vesa", "Elina", "Harri",
)  # fmt: skip
SURNAMES = (
    "Aaltonen", "Backman", "Eskola", "Forsman", "Grönlund", "Halonen", "Ikonen",
    "Jokinen", "Kallio", "Lindqvist", "Manninen", "Nurmi", "Oksanen",
    "Peltonen", "Rautio", "Salmi", "Toivonen", "Uusitalo", "Vainio", "Wikström",
    "Ylönen", "Ahola", "Björk", "Harju", "Kivelä", "Laaksonen", "Mustonen",
    "Niskanen", "Pulkkinen", "Saarinen",
)  # fmt: skip
MAX_PROFESSIONALS = len(FIRST_NAMES) * len(SURNAMES)

# How the clients name each role: nominative, "my ...", genitive.
ROLE_WORDS: dict[str, tuple[str, str, str]] = {
    "omatyontekija": ("omatyöntekijä", "omatyöntekijäni", "omatyöntekijän"),
    "te_asiantuntija": ("te-asiantuntija", "te-asiantuntijani", "te-asiantuntijan"),
    # "kelan asiantuntijani" is not understood yet (not in paths/roles.yml).
    "kela_asiantuntija": (
        "kelan asiantuntija",
        "kela-asiantuntijani",
        "kelan asiantuntijan",
    ),
    "ohjaaja": ("työtoiminnan ohjaaja", "ohjaajani", "ohjaajan"),
    "tyovalmentaja": ("työvalmentaja", "työvalmentajani", "työvalmentajan"),
    "tyohonvalmentaja": (
        "työhönvalmentaja",
        "työhönvalmentajani",
        "työhönvalmentajan",
    ),
    "asiakasohjaaja": ("asiakasohjaaja", "asiakasohjaajani", "asiakasohjaajan"),
    "palvelukoordinaattori": (
        "palvelukoordinaattori",
        "palvelukoordinaattorini",
        "palvelukoordinaattorin",
    ),
    "asiakasvastaava": ("asiakasvastaava", "asiakasvastaavani", "asiakasvastaavan"),
    "terveydenhoitaja": (
        "terveydenhoitaja",
        "terveydenhoitajani",
        "terveydenhoitajan",
    ),
    "laakari": ("lääkäri", "lääkärini", "lääkärin"),
    "fysioterapeutti": ("fysioterapeutti", "fysioterapeuttini", "fysioterapeutin"),
}


@dataclass(frozen=True)
class Plan:
    """A kind of client on one path: where they are and who helps them."""

    path_id: str
    step_id: str
    roles: tuple[str, ...]  # a role twice: a pair in that role
    ambiguous: str  # a word meaning two of their roles ("valmentaja")
    ambiguous_roles: tuple[str, str]


PLANS: tuple[Plan, ...] = (
    # Suvi's path, in the job-coaching pilot: both kinds of coach.
    Plan(
        "kuntouttava-tyotoiminta",
        "tyohonvalmennus",
        ("omatyontekija", "te_asiantuntija", "ohjaaja", "tyovalmentaja",
         "tyohonvalmentaja"),
        "valmentaja",
        ("tyohonvalmentaja", "tyovalmentaja"),
    ),
    # Valtteri's path, looking for work: a branch comes next.
    Plan(
        "tyohonvalmennus-vammaispalvelut",
        "tyonhaku",
        ("asiakasohjaaja", "palvelukoordinaattori", "tyohonvalmentaja"),
        "palveluohjaaja",
        ("asiakasohjaaja", "palvelukoordinaattori"),
    ),
    # The work-ability team with its client-coordinator pair.
    Plan(
        "tyokykytiimi-asiakasvastaava",
        "tyokyvyn_arviointi",
        ("asiakasvastaava", "asiakasvastaava", "terveydenhoitaja", "laakari",
         "fysioterapeutti", "te_asiantuntija", "kela_asiantuntija"),
        "asiantuntija",
        ("te_asiantuntija", "kela_asiantuntija"),
    ),
)  # fmt: skip
# Clients of their own for the warm-up, one on each path, after the load clients.
WARM_UP_CLIENTS = len(PLANS)
MAX_CLIENTS = MAX_PROFESSIONALS // max(len(p.roles) for p in PLANS) - WARM_UP_CLIENTS


@dataclass(frozen=True)
class Pro:
    name: str
    phone: str


@dataclass
class LoadClient:
    id: str
    path_id: str
    step_id: str
    token: str
    pros: dict[str, list[Pro]] = field(default_factory=dict)  # role -> people

    def names(self, role: str) -> list[str]:
        return [p.name for p in self.pros.get(role, [])]

    def all_names(self) -> set[str]:
        return {p.name for pros in self.pros.values() for p in pros}


def professional(index: int) -> Pro:
    """The index-th made-up professional: a unique name and phone number."""
    if not 0 <= index < MAX_PROFESSIONALS:
        raise ValueError(f"at most {MAX_PROFESSIONALS} professionals")
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = SURNAMES[(index // len(FIRST_NAMES) + index) % len(SURNAMES)]
    return Pro(f"{first} {last}", f"050 555 {index:04d}")


def plan_for(number: int) -> Plan:
    return PLANS[number % len(PLANS)]


def seed(db: Path, clients: int, *, token_days: int = 1) -> list[LoadClient]:
    """Add `clients` load clients (ids load-0001...) and WARM_UP_CLIENTS more,
    with their professionals and a personal token each, to the client store at
    `db`."""
    if not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(f"the number of clients must be 1-{MAX_CLIENTS}: {clients}")
    store = open_store(db)
    try:
        catalog = load_catalog(Path(__file__).resolve().parents[2] / "paths")
        admin = Admin(store, catalog, "loadtest")
        made: list[LoadClient] = []
        pro_index = 0
        for number in range(clients + WARM_UP_CLIENTS):
            plan = plan_for(number)
            client_id = f"load-{number + 1:04d}"
            admin.add_client(
                client_id,
                plan.path_id,
                plan.step_id,
                date.today() - timedelta(days=30 + number % 90),
            )
            client = LoadClient(client_id, plan.path_id, plan.step_id, "")
            for role in plan.roles:
                pro = professional(pro_index)
                pro_id = f"load-pro-{pro_index + 1:04d}"
                pro_index += 1
                admin.add_professional(
                    pro_id, pro.name, role, "Kuormitustestin organisaatio", pro.phone
                )
                admin.assign(client_id, role, pro_id)
                client.pros.setdefault(role, []).append(pro)
            client.token = admin.issue_token(client_id, token_days)
            made.append(client)
        return made
    finally:
        store.db.close()


def save_clients(clients: list[LoadClient], path: Path) -> None:
    """The clients and their tokens as JSON, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    data = {"clients": [asdict(c) for c in clients]}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def load_clients(path: Path) -> list[LoadClient]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        clients = [
            LoadClient(
                c["id"],
                c["path_id"],
                c["step_id"],
                c["token"],
                {r: [Pro(**p) for p in pros] for r, pros in c["pros"].items()},
            )
            for c in data["clients"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{path}: not a token file written by `loadtest.py seed` ({exc})"
        ) from None
    if not clients:
        raise ValueError(f"{path}: no clients")
    return clients


# --- the answers --------------------------------------------------------------


def texts(answer: Any) -> str:
    """The text of a REST channel answer (a list of messages)."""
    if not isinstance(answer, list):
        return ""
    return "\n".join(m.get("text") or "" for m in answer if isinstance(m, dict)).strip()


def buttons(answer: Any) -> list[dict[str, str]]:
    found = []
    for message in answer if isinstance(answer, list) else []:
        if isinstance(message, dict):
            found += [b for b in message.get("buttons") or [] if isinstance(b, dict)]
    return found


def custom(answer: Any) -> list[dict[str, Any]]:
    return [
        m["custom"]
        for m in (answer if isinstance(answer, list) else [])
        if isinstance(m, dict) and isinstance(m.get("custom"), dict)
    ]


Check = Callable[[Any], str | None]


def expect_all(*parts: str) -> Check:
    """The answer's text holds every part."""

    def check(answer: Any) -> str | None:
        text = texts(answer)
        missing = [p for p in parts if p not in text]
        return f"missing {missing!r}" if missing else None

    return check


@dataclass
class Turn:
    """One message of a conversation and what its answer must hold.

    `kind` names the question type in the report; `means` is what the message
    should be understood as (the intent and role entities), `check` what the
    answer must hold; `then`, when set, makes the next message from this
    answer (a button the person clicks)."""

    kind: str
    message: str
    means: tuple[str, tuple[str, ...]]
    check: Check
    then: Callable[[Any], Turn] | None = None


GREETINGS = ["moi", "hei", "moikka", "terve", "huomenta", "hei, onko täällä ketään"]
WHO = ["kuka on minun {poss}?", "kuka on mun {nom}?", "mikä mun {gen} nimi on"]
REACH = [
    "mikä on {gen} puhelinnumero?",
    "miten tavoitan {gen}?",
    "{gen} yhteystiedot",
    "miten mä saan {gen} kiinni",
]
WHERE = [
    "missä vaiheessa mä oon?",
    "missä vaiheessa olen nyt?",
    "mikä vaihe mulla on nyt menossa",
    "missä kohtaa mun palvelupolkua mä oon",
]
NEXT = [
    "mitä seuraavaksi tapahtuu?",
    "mikä on seuraava vaihe?",
    "mitä tän jälkeen?",
    "mitä mun pitää tehdä seuraavaksi",
]
OVERVIEW = [
    "näytä mun polku",
    "näytä koko polku",
    "piirrä mun polku",
    "mitä vaiheita mun polussa on",
]
DEFINE = ["mitä {nom} tekee?", "mikä on {gen} tehtävä?", "mitä {nom} oikeesti tekee"]
FOLLOW_UP = [
    "otetaanko muhun yhteyttä kun palvelu loppuu?",
    "tuleeko jälkikontakti?",
    "kysyykö joku mun kuulumisia sen jälkeen kun palvelu on loppunut",
    "soittaako joku mulle kun tää loppuu",
]
AMBIGUOUS = ["kuka on mun {word}?", "kuka mun {word} on"]
THANKS = ["kiitos", "kiitti", "kiitos paljon", "kiitos avusta"]
GOODBYES = ["heihei", "no hei hei", "nähdään", "moikka sitten"]

KINDS = (
    "greet",
    "who is my X",
    "how do I reach X",
    "where am I",
    "what next",
    "path overview",
    "role definition",
    "follow-up",
    "ambiguous word",
    "button payload",
    "thanks",
    "goodbye",
)


def words(role: str) -> dict[str, str]:
    nom, poss, gen = ROLE_WORDS[role]
    return {"nom": nom, "poss": poss, "gen": gen}


class Script:
    """Builds the conversations of one client, with the checks of its answers."""

    def __init__(self, client: LoadClient, catalog: Catalog, rng: random.Random):
        self.client = client
        self.catalog = catalog
        self.rng = rng
        self.path = catalog.path(client.path_id)
        self.step = self.path.step(client.step_id)
        self.plan = next(p for p in PLANS if p.path_id == client.path_id)

    def title(self, role: str) -> str:
        return self.catalog.role(role).title

    def conversation(self) -> Iterator[Turn]:
        """One visit: a greeting, most of the questions in a natural order (each
        may be skipped), thanks and goodbye."""
        pick = self.rng.choice
        roles = sorted(self.client.pros)
        yield Turn(
            "greet",
            pick(GREETINGS),
            ("greet", ()),
            expect_all("Hei! Olen Polkuopas.", self.path.name),
        )
        role = pick(roles)
        questions = [
            self.who(role),
            self.reach(role),
            Turn("where am I", pick(WHERE), ("ask_current_step", ()), self.where),
            Turn("what next", pick(NEXT), ("ask_next_step", ()), self.what_next),
            Turn(
                "path overview",
                pick(OVERVIEW),
                ("ask_path_overview", ()),
                self.overview,
            ),
            self.define(pick(roles)),
            Turn("follow-up", pick(FOLLOW_UP), ("ask_follow_up", ()), self.follow_up),
            self.ambiguous(),
        ]
        for turn in questions:
            if self.rng.random() < 0.85:
                yield turn
        yield Turn("thanks", pick(THANKS), ("thank", ()), expect_all("Ole hyvä!"))
        yield Turn("goodbye", pick(GOODBYES), ("goodbye", ()), expect_all("Hei hei!"))

    # --- the questions ------------------------------------------------------

    def who(self, role: str) -> Turn:
        names = self.client.names(role)
        check = (
            expect_all(f"{possessive(self.title(role))} on {names[0]}.")
            if len(names) == 1
            else expect_all(*names)
        )
        text = self.rng.choice(WHO).format(**words(role))
        return Turn("who is my X", text, ("ask_responsible", (role,)), check)

    def reach(self, role: str) -> Turn:
        pros = self.client.pros[role]
        parts = [x for p in pros for x in (p.name, f"Puhelin: {p.phone}")]
        text = self.rng.choice(REACH).format(**words(role))
        return Turn(
            "how do I reach X", text, ("ask_contact", (role,)), expect_all(*parts)
        )

    def where(self, answer: Any) -> str | None:
        return expect_all("Olet nyt vaiheessa", f": {self.step.title}.")(answer)

    def what_next(self, answer: Any) -> str | None:
        if len(self.step.next) == 1:
            title = self.path.step(self.step.next[0].step).title
            return expect_all(f"Seuraavaksi: {title}.")(answer)
        if self.step.next:
            titles = [self.path.step(n.step).title for n in self.step.next]
            return expect_all(f'Vaiheen "{self.step.title}" jälkeen', *titles)(answer)
        return expect_all("Olet polun viimeisessä vaiheessa")(answer)

    def overview(self, answer: Any) -> str | None:
        problem = expect_all("Tämä on sinun polkusi:", self.path.name)(answer)
        if problem:
            return problem
        payloads = [c for c in custom(answer) if c.get("type") == "polkuopas.path"]
        if [c.get("current_step") for c in payloads] != [self.step.id]:
            return "no path picture with the current step"
        return None

    def define(self, role: str) -> Turn:
        definition = self.catalog.role(role).definition
        check = expect_all(
            f"{self.title(role)}: {definition}", *self.client.names(role)
        )
        text = self.rng.choice(DEFINE).format(**words(role))
        return Turn("role definition", text, ("ask_role_definition", (role,)), check)

    def follow_up(self, answer: Any) -> str | None:
        rule = self.path.follow_up
        who = join_names(self.client.names(rule.role))
        return expect_all(f"Yhteyttä voi ottaa {who}.")(answer)

    def ambiguous(self) -> Turn:
        """A word that means two of the client's roles: the assistant asks which,
        with a button for each; the person clicks one."""
        options = set(self.plan.ambiguous_roles)

        def check(answer: Any) -> str | None:
            problem = expect_all("Ketä tarkoitat?")(answer)
            offered = {r for r in options for b in buttons(answer) if r in b["payload"]}
            return problem or (None if offered == options else "not both roles offered")

        def then(answer: Any) -> Turn:
            button = self.rng.choice(
                [b for b in buttons(answer) if any(r in b["payload"] for r in options)]
            )
            role = next(r for r in options if f'"{r}"' in button["payload"])
            clicked = self.who(role)
            means = ("ask_responsible", (role,))
            return Turn("button payload", button["payload"], means, clicked.check)

        text = self.rng.choice(AMBIGUOUS).format(word=self.plan.ambiguous)
        means = ("ask_responsible", (self.plan.ambiguous,))
        return Turn("ambiguous word", text, means, check, then)


def foreign_names(answer: Any, own: set[str], everyone: set[str]) -> list[str]:
    """Names of other clients' professionals in the answer (must be none)."""
    text = texts(answer)
    return sorted(n for n in everyone - own if n in text)


UNAVAILABLE_START = "En pysty juuri nyt hakemaan tietojasi."
TOO_FAST_START = "Lähetit viestejä nopeammin"
NOT_UNDERSTOOD = ("En ole varma, mitä tarkoitat.", "En vieläkään ymmärtänyt.")


def judge(
    answer: Any, turn: Turn, client: LoadClient, everyone: set[str]
) -> tuple[str, str] | None:
    """(error kind, detail) for a wrong answer to `turn`; None when it is right."""
    text = texts(answer)
    shown = f"{turn.message!r} -> "
    foreign = foreign_names(answer, client.all_names(), everyone)
    if foreign:
        return "another client's data", shown + f"names {foreign}"
    if text.startswith(UNAVAILABLE_START):
        return "'cannot look up your details' answer", shown + text[:80]
    problem = turn.check(answer)
    if problem is None:
        return None
    detail = shown + f"{text[:140]!r} ({problem})"
    if text.startswith(NOT_UNDERSTOOD):
        return "not understood (fallback)", detail
    return "wrong answer", detail
