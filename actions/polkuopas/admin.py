"""Changes to the client store, checked against `paths/`.

Each public method is one transaction with its audit-log entry: it happens whole
or not at all. The CLI, `polkuopas demo`, the workspace (/tyotila) and the
chat's removal of a client's own path go through here.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from polkuopas.catalog import Catalog, ServicePath
from polkuopas.errors import Conflict, Invalid, NotFound
from polkuopas.passwords import check_password, hash_password
from polkuopas.store import (
    OWN_PATH_KINDS,
    Client,
    StaffMember,
    Store,
    new_token,
    token_expiry,
)

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{4,24}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Who a staff account is: a worker sees the clients assigned to their
# professional record, a path owner the paths' figures, an admin everything.
STAFF_ROLES = ("tyontekija", "polun_omistaja", "admin")
NOTE_MAX = 1000
HOURS_MAX = 200
# The next meeting: a time of day as HH:MM; place and with whom, short texts.
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MEETING_TEXT_MAX = 200
# One line of the client's own path, in their own words.
OWN_PATH_TEXT_MAX = 500
# Control characters and invisible direction marks (which can disguise text).
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str | None, what: str, limit: int) -> str:
    """A one-line text without control characters; refused empty or too long."""
    text = " ".join(CONTROL_RE.sub(" ", value or "").split())
    if not text:
        raise Invalid(f"{what} must not be empty")
    if len(text) > limit:
        raise Invalid(f"{what} is longer than {limit} characters")
    return text


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def check_id(kind: str, value: str) -> str:
    if not ID_RE.match(value or ""):
        raise Invalid(
            f"invalid {kind} id {value!r}: use 1-64 letters, digits, '-', '_' or '.'"
            " (no spaces), starting with a letter or digit"
        )
    return value


@dataclass(frozen=True)
class ScheduledFollowUp:
    role: str
    due_on: date
    due_by: date


class Admin:
    def __init__(self, store: Store, catalog: Catalog, actor: str):
        self.store = store
        self.catalog = catalog
        self.actor = actor

    # --- lookups that give clear errors -----------------------------------

    def path(self, path_id: str) -> ServicePath:
        try:
            return self.catalog.path(path_id)
        except KeyError:
            known = ", ".join(sorted(self.catalog.paths))
            raise NotFound(f"unknown path {path_id!r} (paths: {known})") from None

    def check_role(self, role: str) -> str:
        if role not in self.catalog.roles:
            known = ", ".join(sorted(self.catalog.roles))
            raise NotFound(f"unknown role {role!r} (roles: {known})")
        return role

    def client(self, client_id: str) -> Client:
        return self.store.get_client(client_id)

    # --- professionals -----------------------------------------------------

    def add_professional(
        self,
        pro_id: str,
        name: str,
        role: str,
        organisation: str = "",
        phone: str | None = None,
        email: str | None = None,
        hours: str | None = None,
    ) -> None:
        check_id("professional", pro_id)
        self.check_role(role)
        if not name.strip():
            raise Invalid("the name must not be empty")
        if phone is not None and not PHONE_RE.match(phone):
            raise Invalid(f"invalid phone number {phone!r}: digits, spaces, + ( ) -")
        if email is not None and not EMAIL_RE.match(email):
            raise Invalid(f"invalid email address {email!r}")
        with self.store.transaction():
            self.store.add_professional(
                {
                    "id": pro_id,
                    "name": name.strip(),
                    "role": role,
                    "organisation": organisation.strip(),
                    "phone": phone,
                    "email": email,
                    "hours": hours.strip() if hours else None,
                    "active": 1,
                }
            )
            self.store.audit(self.actor, "add", "professional", pro_id, role=role)

    def update_professional(
        self,
        pro_id: str,
        phone: str | None = None,
        email: str | None = None,
        hours: str | None = None,
    ) -> dict[str, str | None]:
        """Change the contact details a client is told; an argument left None
        keeps its value, an empty string clears it. Returns what changed."""
        changes: dict[str, str | None] = {}
        if phone is not None:
            phone = phone.strip()
            if phone and not PHONE_RE.match(phone):
                raise Invalid(
                    f"invalid phone number {phone!r}: digits, spaces, + ( ) -"
                )
            changes["phone"] = phone or None
        if email is not None:
            email = email.strip()
            if email and not EMAIL_RE.match(email):
                raise Invalid(f"invalid email address {email!r}")
            changes["email"] = email or None
        if hours is not None:
            hours = hours.strip()
            if len(hours) > HOURS_MAX:
                raise Invalid(f"the hours are longer than {HOURS_MAX} characters")
            changes["hours"] = hours or None
        if not changes:
            raise Invalid("nothing to change: give --phone, --email or --hours")
        with self.store.transaction():
            self.store.update_professional(pro_id, changes)
            self.store.audit(
                self.actor, "edit", "professional", pro_id, fields=sorted(changes)
            )
        return changes

    # --- clients -----------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        path_id: str,
        step_id: str | None = None,
        started_on: date | None = None,
        assign_to: tuple[str, str] | None = None,
    ) -> str:
        """Add a client on a path; with `assign_to` (role, professional) also
        assign them, in the same transaction (a worker adding their own)."""
        check_id("client", client_id)
        path = self.path(path_id)
        step_id = step_id or path.start
        if not path.has_step(step_id):
            known = ", ".join(s.id for s in path.ordered_steps())
            raise NotFound(f"unknown step {step_id!r} in {path_id} (steps: {known})")
        if assign_to is not None:
            self.check_role(assign_to[0])
        with self.store.transaction():
            self.store.add_client(
                client_id, path_id, step_id, started_on or date.today(), self.actor
            )
            self.store.audit(
                self.actor, "add", "client", client_id, path=path_id, step=step_id
            )
            if assign_to is not None:
                self._assign(client_id, *assign_to)
        return step_id

    def assign(self, client_id: str, role: str, pro_id: str) -> None:
        self.check_role(role)
        with self.store.transaction():
            self.client(client_id)
            self._assign(client_id, role, pro_id)

    def _assign(self, client_id: str, role: str, pro_id: str) -> None:
        pro = self.store.get_professional(pro_id)
        if not pro.active:
            raise Conflict(f"professional {pro_id!r} is not active")
        self.store.assign(client_id, role, pro_id, date.today())
        self.store.audit(
            self.actor,
            "assign",
            "client",
            client_id,
            role=role,
            professional=pro_id,
        )

    def unassign(self, client_id: str, role: str, pro_id: str) -> None:
        self.check_role(role)
        with self.store.transaction():
            self.client(client_id)
            self.store.unassign(client_id, role, pro_id, date.today())
            self.store.audit(
                self.actor,
                "unassign",
                "client",
                client_id,
                role=role,
                professional=pro_id,
            )

    def advance(self, client_id: str, to: str | None = None) -> str:
        with self.store.transaction():
            client = self.client(client_id)
            if client.ended:
                raise Conflict(f"client {client_id!r} has ended the service")
            path = self.path(client.path_id)
            valid = [s.id for s in path.next_steps(client.current_step)]
            if not valid:
                raise Invalid(
                    f"{client.current_step!r} is the last step of {path.id}; "
                    f"use 'polkuopas client end {client_id}'"
                )
            if to is None and len(valid) > 1:
                raise Invalid(
                    f"{client.current_step!r} branches; choose one with --to: "
                    + ", ".join(valid)
                )
            target = to or valid[0]
            if target not in valid:
                raise Invalid(
                    f"cannot move {client_id!r} from {client.current_step!r} to "
                    f"{target!r}; valid next steps: {', '.join(valid)}"
                )
            self.store.move_client(client_id, target, self.actor)
            self.store.audit(
                self.actor,
                "advance",
                "client",
                client_id,
                **{"from": client.current_step, "to": target},
            )
        return target

    def end(
        self, client_id: str, ended_on: date | None = None
    ) -> ScheduledFollowUp | None:
        """End the service; schedule the path's follow-up contact where it
        applies to the step the client ended on (None where it does not)."""
        ended_on = ended_on or date.today()
        with self.store.transaction():
            client = self.client(client_id)
            if client.ended:
                raise Conflict(
                    f"client {client_id!r} already ended on {client.ended_on}"
                )
            if ended_on < date.fromisoformat(client.started_on):
                raise Invalid(
                    f"end date {ended_on} is before the start {client.started_on}"
                )
            rule = self.path(client.path_id).follow_up
            scheduled = None
            if rule.applies_after(client.current_step):
                scheduled = ScheduledFollowUp(
                    role=rule.role,
                    due_on=add_months(ended_on, rule.earliest_months),
                    due_by=add_months(ended_on, rule.latest_months),
                )
            self.store.end_client(client_id, ended_on)
            if scheduled:
                self.store.schedule_followup(
                    client_id, scheduled.role, scheduled.due_on, scheduled.due_by
                )
            self.store.audit(
                self.actor,
                "end",
                "client",
                client_id,
                ended_on=ended_on.isoformat(),
                followup_due=scheduled.due_on.isoformat() if scheduled else None,
            )
        return scheduled

    # --- tokens ------------------------------------------------------------

    def issue_token(self, client_id: str, days: int) -> str:
        """A new personal chat token; returned once, only its hash is stored."""
        if not 1 <= days <= 365:
            raise Invalid(f"--days must be between 1 and 365, got {days}")
        raw = new_token()
        with self.store.transaction():
            self.client(client_id)
            expires = token_expiry(days)
            self.store.add_token(client_id, raw, expires)
            self.store.audit(
                self.actor,
                "issue-token",
                "client",
                client_id,
                expires=expires.isoformat(),
            )
        return raw

    def revoke_tokens(self, client_id: str) -> int:
        with self.store.transaction():
            self.client(client_id)
            count = self.store.revoke_tokens(client_id)
            self.store.audit(
                self.actor, "revoke-tokens", "client", client_id, count=count
            )
        return count

    # --- contact requests ---------------------------------------------------

    def contact_request_handled(self, request_id: int, note: str | None = None) -> None:
        note = (note or "").strip() or None
        if note is not None and len(note) > NOTE_MAX:
            raise Invalid(f"the note is longer than {NOTE_MAX} characters")
        with self.store.transaction():
            self.store.mark_contact_request_handled(request_id, self.actor, note)
            # The note may hold personal data: the audit log says only that
            # there is one.
            self.store.audit(
                self.actor,
                "contact-handled",
                "contact_request",
                str(request_id),
                note=note is not None,
            )

    # --- the next meeting and the client's own path ---------------------------
    # The audit log says what was done and when, never the texts: a place, a
    # name or a goal in the client's own words may be personal.

    def set_meeting(
        self,
        client_id: str,
        meets_on: date,
        at_time: str,
        place: str,
        with_whom: str,
        today: date | None = None,
    ) -> None:
        """Set the client's next meeting (replacing the one set before)."""
        if meets_on < (today or date.today()):
            raise Invalid(f"the meeting date {meets_on} is in the past")
        if not TIME_RE.match(at_time or ""):
            raise Invalid(f"invalid time {at_time!r}: use HH:MM, e.g. 09:30")
        place = clean_text(place, "the place", MEETING_TEXT_MAX)
        with_whom = clean_text(with_whom, "with whom", MEETING_TEXT_MAX)
        with self.store.transaction():
            client = self.client(client_id)
            if client.ended:
                raise Conflict(f"client {client_id!r} has ended the service")
            self.store.set_meeting(
                client_id, meets_on, at_time, place, with_whom, self.actor
            )
            self.store.audit(
                self.actor,
                "set-meeting",
                "client",
                client_id,
                on=meets_on.isoformat(),
                at=at_time,
            )

    def clear_meeting(self, client_id: str) -> None:
        with self.store.transaction():
            self.client(client_id)
            if not self.store.delete_meeting(client_id):
                raise NotFound(f"client {client_id!r} has no next meeting")
            self.store.audit(self.actor, "clear-meeting", "client", client_id)

    def add_own_path_item(
        self,
        client_id: str,
        kind: str,
        text: str,
        due_on: date | None = None,
        client_agreed: bool = False,
    ) -> int:
        """Write one line of the client's own path; only with the client's
        agreement. An agreed next action needs its date."""
        if not client_agreed:
            raise Invalid(
                "the client has not agreed to this being written: "
                "write only what the client agrees to"
            )
        if kind not in OWN_PATH_KINDS:
            raise Invalid(f"unknown kind {kind!r} (kinds: {', '.join(OWN_PATH_KINDS)})")
        text = clean_text(text, "the text", OWN_PATH_TEXT_MAX)
        if kind == "action" and due_on is None:
            raise Invalid("an agreed next action needs a date")
        with self.store.transaction():
            client = self.client(client_id)
            if client.ended:
                raise Conflict(f"client {client_id!r} has ended the service")
            item_id = self.store.add_own_path_item(
                client_id, kind, text, due_on, self.actor
            )
            self.store.audit(
                self.actor,
                "add-own-path-item",
                "client",
                client_id,
                item=item_id,
                kind=kind,
            )
        return item_id

    def remove_own_path_item(self, client_id: str, item_id: int) -> None:
        """Delete one line of the client's own path (the row, not a flag)."""
        with self.store.transaction():
            self.client(client_id)
            if not self.store.delete_own_path_item(client_id, item_id):
                raise NotFound(f"client {client_id!r} has no item {item_id}")
            self.store.audit(
                self.actor, "remove-own-path-item", "client", client_id, item=item_id
            )

    def remove_own_path(self, client_id: str) -> int:
        """Delete every line of the client's own path; returns how many."""
        with self.store.transaction():
            self.client(client_id)
            count = self.store.delete_own_path(client_id)
            self.store.audit(
                self.actor, "remove-own-path", "client", client_id, count=count
            )
        return count

    # --- follow-up contacts -------------------------------------------------

    def followup_done(self, client_id: str) -> None:
        with self.store.transaction():
            self.client(client_id)
            followup = self.store.find_followup(client_id)
            if followup is None:
                raise NotFound(f"client {client_id!r} has no follow-up contact")
            if followup.done_at:
                raise Conflict(
                    f"the follow-up of {client_id!r} was already marked done "
                    f"on {followup.done_at[:10]}"
                )
            self.store.mark_followup_done(client_id, self.actor)
            self.store.audit(self.actor, "followup-done", "client", client_id)

    # --- staff accounts ------------------------------------------------------

    def add_staff(
        self,
        staff_id: str,
        name: str,
        email: str,
        role: str,
        pro_id: str | None = None,
        path_ids: list[str] | None = None,
    ) -> None:
        check_id("staff", staff_id)
        self._check_staff_role(role, pro_id, path_ids)
        if not name.strip():
            raise Invalid("the name must not be empty")
        if not EMAIL_RE.match(email or ""):
            raise Invalid(f"invalid email address {email!r}")
        with self.store.transaction():
            if pro_id is not None:
                self.store.get_professional(pro_id)
            self.store.add_staff(
                {
                    "id": staff_id,
                    "name": name.strip(),
                    "email": email.strip().lower(),
                    "role": role,
                    "professional_id": pro_id,
                }
            )
            self.store.audit(
                self.actor, "add", "staff", staff_id, role=role, professional=pro_id
            )
            if path_ids:
                self.store.set_staff_paths(staff_id, path_ids)
                self.store.audit(
                    self.actor, "set-paths", "staff", staff_id, paths=sorted(path_ids)
                )

    def _check_staff_role(
        self, role: str, pro_id: str | None, path_ids: list[str] | None = None
    ) -> None:
        if role not in STAFF_ROLES:
            raise Invalid(
                f"unknown staff role {role!r} (roles: {', '.join(STAFF_ROLES)})"
            )
        if role == "tyontekija" and not pro_id:
            raise Invalid(
                "a tyontekija sees the clients of their professional record: "
                "give it with --pro PRO_ID"
            )
        if path_ids and role != "polun_omistaja":
            raise Invalid("only a polun_omistaja is limited to paths (--path)")
        for path_id in path_ids or []:
            self.path(path_id)

    def change_staff(self, staff_id: str, role: str, pro_id: str | None) -> int:
        """A new role and professional record; the account's sessions end (its
        rights changed) and a role other than polun_omistaja loses its paths.
        Returns how many sessions ended."""
        self._check_staff_role(role, pro_id)
        with self.store.transaction():
            member = self.store.get_staff(staff_id)
            if pro_id is not None:
                self.store.get_professional(pro_id)
            self.store.update_staff(staff_id, role, pro_id)
            if role != "polun_omistaja":
                self.store.set_staff_paths(staff_id, [])
            ended = 0
            if (role, pro_id) != (member.role, member.professional_id):
                ended = self.store.delete_staff_sessions(staff_id)
            self.store.audit(
                self.actor,
                "change",
                "staff",
                staff_id,
                role=role,
                professional=pro_id,
                sessions=ended,
            )
        return ended

    def set_staff_paths(self, staff_id: str, path_ids: list[str]) -> None:
        """The paths a path owner sees (replacing the ones before)."""
        for path_id in path_ids:
            self.path(path_id)
        with self.store.transaction():
            member = self.store.get_staff(staff_id)
            if member.role != "polun_omistaja":
                raise Conflict(
                    f"{staff_id!r} is a {member.role}: only a polun_omistaja "
                    "is limited to paths"
                )
            self.store.set_staff_paths(staff_id, path_ids)
            self.store.audit(
                self.actor, "set-paths", "staff", staff_id, paths=sorted(set(path_ids))
            )

    def disable_staff(self, staff_id: str) -> int:
        """Disable the account and end its sessions; returns how many ended."""
        with self.store.transaction():
            member = self.store.get_staff(staff_id)
            if not member.active:
                raise Conflict(f"staff member {staff_id!r} is already disabled")
            self.store.set_staff_active(staff_id, False)
            ended = self.store.delete_staff_sessions(staff_id)
            self.store.audit(self.actor, "disable", "staff", staff_id, sessions=ended)
        return ended

    def set_staff_password(self, staff_id: str, password: str) -> None:
        """A new password (checked against the policy); other sessions end."""
        member = self.store.get_staff(staff_id)
        check_password(password, member.id, member.name, member.email)
        hashed = hash_password(password)  # slow on purpose: outside the lock
        with self.store.transaction():
            self.store.get_staff(staff_id)
            self.store.set_staff_password(staff_id, hashed)
            ended = self.store.delete_staff_sessions(staff_id)
            self.store.audit(
                self.actor, "set-password", "staff", staff_id, sessions=ended
            )

    def staff(self, staff_id: str) -> StaffMember:
        return self.store.get_staff(staff_id)
