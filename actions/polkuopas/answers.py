"""What Polkuopas answers: small pure functions from the store and `paths/`.

The action classes in `polkuopas.bot_actions` only pick responses; everything
they say about a client is computed here from a `ClientView`, which holds what
that one client may see and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from polkuopas.catalog import Catalog, ServicePath, Step
from polkuopas.messages import catalogue
from polkuopas.store import (
    Assignment,
    Client,
    FollowUp,
    Meeting,
    OwnPathItem,
    Professional,
    Store,
)
from polkuopas_contract import LAPSED, NONE, VALID, IdentityStatus, read_identity

PATH_PAYLOAD_TYPE = "polkuopas.path"

# Who to turn to when the asked professional is away, in order of preference.
MAIN_CONTACT_ROLES = (
    "asiakasvastaava",
    "omatyontekija",
    "palvelukoordinaattori",
    "tyohonvalmentaja",
    "sosiaaliohjaaja",
)


@dataclass(frozen=True)
class Identity:
    """Who is asking: VALID with a client id, or EXPIRED, REVOKED, NONE (the
    contract's status words, polkuopas_contract)."""

    status: IdentityStatus
    client_id: str | None = None

    @property
    def known(self) -> bool:
        return self.status == VALID and bool(self.client_id)

    @property
    def lapsed(self) -> bool:
        """A personal link that has expired or was revoked."""
        return self.status in LAPSED


NO_IDENTITY = Identity(NONE)


def identity_from_metadata(metadata: Any) -> Identity:
    """Read the identity the channel attached; anything malformed means none."""
    data = read_identity(metadata)
    return Identity(data["identity"], data["client_id"])


@dataclass(frozen=True)
class ClientView:
    """Everything one client may see: their path, step, professionals, dates."""

    client: Client
    path: ServicePath
    assignments: list[Assignment]
    visited: list[str]
    followup: FollowUp | None

    @property
    def step(self) -> Step:
        return self.path.step(self.client.current_step)

    def roles(self) -> list[str]:
        seen: dict[str, None] = {}
        for a in self.assignments:
            seen.setdefault(a.role, None)
        return list(seen)

    def professionals(self, role: str) -> list[Professional]:
        return [
            a.professional
            for a in self.assignments
            if a.role == role and a.professional.active
        ]


def load_view(store: Store, catalog: Catalog, client_id: str) -> ClientView | None:
    """The client's view, or None when the client or their path is unknown."""
    client = store.find_client(client_id)
    if client is None or client.path_id not in catalog.paths:
        return None
    path = catalog.path(client.path_id)
    if not path.has_step(client.current_step):
        return None
    return ClientView(
        client=client,
        path=path,
        assignments=store.assignments(client_id),
        visited=[h["to_step"] for h in store.step_history(client_id)],
        followup=store.find_followup(client_id),
    )


# --- words -------------------------------------------------------------------


def in_sentence(title: str) -> str:
    """A title inside a sentence: "Työhönvalmentaja" → "työhönvalmentaja",
    but "TE-asiantuntija" keeps its capitals."""
    if len(title) > 1 and title[1].isupper():
        return title
    return title[:1].lower() + title[1:]


def possessive(title: str) -> str:
    """ "Työhönvalmentaja" → "Työhönvalmentajasi" (your job coach).

    Every role title ends in a vowel, where Finnish adds -si to the nominative.
    """
    return title + "si"


def join_names(names: Iterable[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " ja " + names[-1]


def finnish_date(day: str | date) -> str:
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{value.day}.{value.month}.{value.year}"


def contact_lines(pro: Professional) -> str:
    texts = catalogue()
    lines = []
    if pro.phone:
        lines.append(texts.text("contact_phone", phone=pro.phone))
    if pro.email:
        lines.append(texts.text("contact_email", email=pro.email))
    if pro.hours:
        lines.append(texts.text("contact_hours", hours=pro.hours))
    return "\n".join(lines) or texts.text("contact_none")


# --- roles -------------------------------------------------------------------


@dataclass(frozen=True)
class RoleChoice:
    """The roles a message means, and an ambiguous word that still needs asking."""

    roles: list[str]
    unclear: str | None = None  # an ambiguous word's key, e.g. "valmentaja"
    options: tuple[str, ...] = ()


def resolve_roles(
    values: Iterable[str], catalog: Catalog, view: ClientView | None
) -> RoleChoice:
    """Map entity values to role ids; an ambiguous word is settled by the client's
    own assignments when exactly one of its roles is theirs."""
    roles: list[str] = []
    for value in values:
        if value in catalog.roles:
            if value not in roles:
                roles.append(value)
            continue
        group = catalog.ambiguous.get(value)
        if group is None:
            continue
        mine = [r for r in group.roles if view and r in view.roles()]
        if len(mine) == 1:
            if mine[0] not in roles:
                roles.append(mine[0])
        else:
            return RoleChoice(roles, unclear=value, options=tuple(group.roles))
    return RoleChoice(roles)


def substitutes(view: ClientView, role: str, pro: Professional) -> list[Professional]:
    """Who to contact when `pro` is away: their pair partner in the same role,
    otherwise the client's main contact."""
    partners = [p for p in view.professionals(role) if p.id != pro.id]
    if partners:
        return partners
    for main in MAIN_CONTACT_ROLES:
        others = [p for p in view.professionals(main) if p.id != pro.id]
        if others:
            return others
    return []


def main_contacts(view: ClientView) -> tuple[str, list[Professional]] | None:
    """The client's coordinator or designated worker: the person to ask for."""
    for role in MAIN_CONTACT_ROLES:
        pros = view.professionals(role)
        if pros:
            return role, pros
    for assignment in view.assignments:
        if assignment.professional.active:
            return assignment.role, [assignment.professional]
    return None


# --- steps and paths ----------------------------------------------------------


def step_position(path: ServicePath, step_id: str) -> tuple[int, int]:
    order = [s.id for s in path.ordered_steps()]
    return order.index(step_id) + 1, len(order)


def responsible_text(catalog: Catalog, step: Step, view: ClientView | None) -> str:
    """ "työhönvalmentaja Jenni Koskinen" where the name is known, else the title."""
    parts = []
    for role in step.responsible:
        title = in_sentence(catalog.role(role).title)
        names = [p.name for p in view.professionals(role)] if view else []
        parts.append(f"{title} {join_names(names)}" if names else title)
    return join_names(parts)


def _reachable(path: ServicePath, start: str, forward: bool = True) -> set[str]:
    """Steps reachable from `start` (forward) or leading to it (backward)."""
    edges: dict[str, list[str]] = {s.id: [] for s in path.steps}
    for step in path.steps:
        for nxt in step.next:
            if forward:
                edges[step.id].append(nxt.step)
            else:
                edges[nxt.step].append(step.id)
    seen: set[str] = set()
    stack = list(edges[start])
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(edges[node])
    return seen


def step_statuses(view: ClientView) -> dict[str, str]:
    """done / current / upcoming / skipped for each step of the client's path.

    A client added part-way along has done the steps before their first
    recorded one; a branch not taken is skipped.
    """
    path, current = view.path, view.client.current_step
    first = view.visited[0] if view.visited else current
    done = set(view.visited) | _reachable(path, first, forward=False)
    ahead = _reachable(path, current)
    statuses = {}
    for step in path.steps:
        if step.id == current:
            statuses[step.id] = "done" if view.client.ended else "current"
        elif step.id in done:
            statuses[step.id] = "done"
        elif step.id in ahead:
            statuses[step.id] = "upcoming"
        else:
            statuses[step.id] = "skipped"
    return statuses


def path_payload(
    catalog: Catalog, path: ServicePath, view: ClientView | None
) -> dict[str, Any]:
    """The path as data for the widget's timeline: order, branches, current
    step, pilots, and the names of the client's own professionals."""

    def people(roles: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "role": role,
                "title": catalog.role(role).title,
                "names": [p.name for p in view.professionals(role)] if view else [],
            }
            for role in roles
        ]

    statuses = step_statuses(view) if view else {}
    steps = []
    for number, step in enumerate(path.ordered_steps(), start=1):
        steps.append(
            {
                "id": step.id,
                "number": number,
                "title": step.title,
                "description": step.description,
                "client_does": step.client_does,
                "duration": step.duration,
                "pilot": step.pilot,
                "pilot_note": step.pilot_note,
                "responsible": people(step.responsible),
                "participants": people(step.participants),
                "next": [{"step": n.step, "when": n.when} for n in step.next],
                "status": statuses.get(step.id),
            }
        )
    rule = path.follow_up
    follow_up: dict[str, Any] = {
        "earliest_months": rule.earliest_months,
        "latest_months": rule.latest_months,
        "role": rule.role,
        "title": catalog.role(rule.role).title,
        "pilot": rule.pilot,
        "description": rule.description,
        "due_on": None,
        "due_by": None,
    }
    if view and view.followup:
        follow_up.update(due_on=view.followup.due_on, due_by=view.followup.due_by)
    return {
        "type": PATH_PAYLOAD_TYPE,
        "version": 1,
        "path": {
            "id": path.id,
            "name": path.name,
            "short_name": path.short_name,
            "organisation": path.organisation,
            "summary": path.summary,
        },
        "personal": view is not None,
        "current_step": view.client.current_step if view else None,
        "ended": bool(view and view.client.ended),
        "steps": steps,
        "follow_up": follow_up,
    }


def path_lines(catalog: Catalog, path: ServicePath, view: ClientView | None) -> str:
    """The path as numbered lines of text, the current step marked."""
    texts = catalogue()
    lines = []
    for number, step in enumerate(path.ordered_steps(), start=1):
        marks = []
        if view and step.id == view.client.current_step and not view.client.ended:
            marks.append(texts.text("path_mark_here"))
        if step.pilot:
            marks.append(texts.text("path_mark_pilot"))
        suffix = f" ({', '.join(marks)})" if marks else ""
        lines.append(f"{number}. {step.title}{suffix}")
    return "\n".join(lines)


def branch_lines(path: ServicePath, step: Step) -> str:
    return "\n".join(
        f"• {path.step(n.step).title}: {n.when}"
        if n.when
        else f"• {path.step(n.step).title}"
        for n in step.next
    )


def follow_up_window(path: ServicePath) -> str:
    rule = path.follow_up
    if rule.earliest_months == rule.latest_months:
        return catalogue().text("follow_up_in_months", months=rule.earliest_months)
    return catalogue().text(
        "follow_up_in_months_range",
        earliest=rule.earliest_months,
        latest=rule.latest_months,
    )


# --- the client's own path ------------------------------------------------------


@dataclass(frozen=True)
class OwnPath:
    """What the client and their worker wrote together: the next meeting,
    goals in the client's own words, what they want to try, agreed actions."""

    meeting: Meeting | None
    items: list[OwnPathItem]

    def of_kind(self, kind: str) -> list[OwnPathItem]:
        return [i for i in self.items if i.kind == kind]

    @property
    def goals(self) -> list[OwnPathItem]:
        return self.of_kind("goal")

    @property
    def tries(self) -> list[OwnPathItem]:
        return self.of_kind("try")

    @property
    def actions(self) -> list[OwnPathItem]:
        return self.of_kind("action")


def load_own_path(store: Store, client_id: str) -> OwnPath:
    """Read apart from `load_view`: only the questions about it need it."""
    return OwnPath(store.find_meeting(client_id), store.own_path_items(client_id))


def clock(at_time: str) -> str:
    """ "09:30" → "9.30", as Finnish writes a time of day."""
    hours, minutes = at_time.split(":")
    return f"{int(hours)}.{minutes}"


def meeting_when(meeting: Meeting) -> str:
    """ "maanantaina 4.1.2027 klo 9.30" """
    day = date.fromisoformat(meeting.meets_on)
    weekday = catalogue().text("weekdays").split()[day.weekday()]
    return catalogue().text(
        "meeting_when",
        weekday=weekday,
        day=finnish_date(day),
        time=clock(meeting.at_time),
    )


def meeting_is_past(meeting: Meeting, today: date | None = None) -> bool:
    return date.fromisoformat(meeting.meets_on) < (today or date.today())


def item_lines(items: Iterable[OwnPathItem]) -> str:
    """One line an item; an action with its date."""
    texts = catalogue()
    return "\n".join(
        texts.text("own_path_line_due", text=i.text, due=finnish_date(i.due_on))
        if i.due_on
        else texts.text("own_path_line", text=i.text)
        for i in items
    )


def own_path_sections(own: OwnPath, today: date | None = None) -> list[dict]:
    """The client's own path as headed lists of plain text, for the widget."""
    texts = catalogue()
    sections = []
    meeting = own.meeting
    if meeting is not None and not meeting_is_past(meeting, today):
        line = texts.text(
            "own_path_meeting_line",
            when=meeting_when(meeting),
            place=meeting.place,
            with_whom=meeting.with_whom,
        )
        sections.append({"heading": texts.text("own_path_meeting"), "items": [line]})
    for heading, items in (
        (texts.text("own_path_goals"), own.goals),
        (texts.text("own_path_tries"), own.tries),
        (texts.text("own_path_actions"), own.actions),
    ):
        if items:
            lines = [
                texts.text("own_path_item_due", text=i.text, due=finnish_date(i.due_on))
                if i.due_on
                else i.text
                for i in items
            ]
            sections.append({"heading": heading, "items": lines})
    return sections


def own_path_payload(own: OwnPath, today: date | None = None) -> dict[str, Any]:
    """The client's own path for the widget (GET /api/oma-polku): the data,
    and the headed texts it shows (none when nothing is written)."""
    meeting = own.meeting
    return {
        "title": catalogue().text("own_path_title"),
        "sections": own_path_sections(own, today),
        "meeting": None
        if meeting is None or meeting_is_past(meeting, today)
        else {
            "on": meeting.meets_on,
            "at": meeting.at_time,
            "when": meeting_when(meeting),
            "place": meeting.place,
            "with": meeting.with_whom,
        },
        "goals": [i.text for i in own.goals],
        "tries": [i.text for i in own.tries],
        "actions": [
            {"text": i.text, "due_on": i.due_on, "due": finnish_date(i.due_on)}
            if i.due_on
            else {"text": i.text, "due_on": None, "due": None}
            for i in own.actions
        ],
    }
