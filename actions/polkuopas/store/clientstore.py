"""The client store: one method per query, the same SQL on both databases.

Who writes, and how: every write is a `Store` method called inside
`Store.transaction()` (on SQLite a `BEGIN IMMEDIATE`, see
`polkuopas.store.connections`). Three processes write:
- the CLI, through `polkuopas.admin.Admin` (each command one transaction with
  its audit-log entry): professionals, clients, steps, assignments, follow-ups,
  tokens, handled contact requests;
- the action server: contact requests from the chat (`add_contact_request`)
  and, after the client said Kyllä, the removal of their own path
  (`Admin.remove_own_path`);
- the web app: feedback (`add_feedback`) and, with the demo on, demo tokens
  (`add_token` with its audit entry); the workspace through `Admin`.
The Rasa channel only reads (tokens joined with clients), through its own read-only
connection. Rasa's tracker database is not this store (see
`polkuopas.conversations`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from polkuopas.errors import Conflict, NotFound
from polkuopas.store.connections import Connection, connect
from polkuopas.store.schema import migrate
from polkuopas_contract import TOKEN_QUERY, VALID, IdentityStatus, hash_token
from polkuopas_contract import check_token as contract_check_token

FEEDBACK_COMMENT_MAX = 1000


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


# The value of `column` recorded most often for the outer row's kind and text
# on the same path; its one parameter is the path id.
_MOST_OFTEN = (
    "(SELECT g.{column} FROM unanswered g WHERE g.path_id = ? "
    "AND g.kind = u.kind AND g.text = u.text AND g.{column} IS NOT NULL "
    "GROUP BY g.{column} ORDER BY COUNT(*) DESC, g.{column} LIMIT 1)"
)


@dataclass(frozen=True)
class Professional:
    id: str
    name: str
    role: str
    organisation: str
    phone: str | None
    email: str | None
    hours: str | None
    active: bool
    created_at: str


@dataclass(frozen=True)
class Client:
    id: str
    path_id: str
    current_step: str
    started_on: str
    ended_on: str | None
    created_at: str

    @property
    def ended(self) -> bool:
        return self.ended_on is not None


@dataclass(frozen=True)
class Assignment:
    """An active assignment, joined with its professional."""

    role: str
    since: str
    professional: Professional


@dataclass(frozen=True)
class FollowUp:
    client_id: str
    role: str
    due_on: str
    due_by: str
    done_at: str | None
    done_by: str | None


@dataclass(frozen=True)
class Meeting:
    """A client's next meeting with their worker."""

    client_id: str
    meets_on: str  # YYYY-MM-DD
    at_time: str  # HH:MM
    place: str
    with_whom: str
    set_by: str
    set_at: str


# The kinds of items of a client's own path: a goal in their own words,
# something they want to try, an agreed next action (with a date).
OWN_PATH_KINDS = ("goal", "try", "action")


@dataclass(frozen=True)
class OwnPathItem:
    """One line of a client's own path, written with the client."""

    id: int
    client_id: str
    kind: str  # one of OWN_PATH_KINDS
    text: str
    due_on: str | None
    created_by: str
    created_at: str


@dataclass(frozen=True)
class StaffMember:
    """A staff account of the workspace (never carries the password hash)."""

    id: str
    name: str
    email: str
    role: str  # tyontekija, polun_omistaja or admin
    professional_id: str | None
    active: bool
    created_at: str
    has_password: bool = False


@dataclass(frozen=True)
class StaffSession:
    """A signed-in session, joined with its staff member."""

    staff: StaffMember
    csrf_token: str
    created_at: str
    last_seen: str


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a presented token: never carries the token."""

    status: IdentityStatus  # VALID, EXPIRED, REVOKED or NONE (the contract's)
    client_id: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == VALID


# --- the token check -------------------------------------------------------
# Hashing, the token query and the verdict are the wire contract's
# (polkuopas_contract), the same code the chat channel runs; the web app and
# the action side reach it through `Store.check_token`.


def check_token(db: Connection, raw: str, now: datetime | None = None) -> TokenCheck:
    """Who a presented token belongs to, if it is still good."""
    verdict = contract_check_token(
        raw, lambda digest: db.execute(TOKEN_QUERY, [digest]).fetchone(), now
    )
    return TokenCheck(verdict["identity"], verdict["client_id"])


def _professional(row: dict[str, Any]) -> Professional:
    return Professional(**{**row, "active": bool(row["active"])})


def _staff(row: dict[str, Any]) -> StaffMember:
    return StaffMember(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=row["role"],
        professional_id=row["professional_id"],
        active=bool(row["active"]),
        created_at=row["created_at"],
        has_password=bool(row["password_hash"]),
    )


def session_key(raw: str) -> str:
    """What the store keeps of a session id: its hash, as of tokens."""
    return hash_token(raw)


class Store:
    """Data access for the client store. One method per query.

    The methods that write are called inside `transaction()` (see the module's
    docstring for who calls which); the read methods may be called anywhere.
    """

    def __init__(self, db: Connection):
        self.db = db

    # --- transactions and audit ---------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One unit of work: everything inside commits together or not at all.

        On SQLite it takes the write lock at its start (`BEGIN IMMEDIATE`), so a
        unit that reads and then writes waits for other writers instead of
        failing with "database is locked"."""
        with self.db.atomic():
            yield self

    def _writing(self) -> Connection:
        """The connection, for a write: only inside `transaction()`, so that
        every write waits for the write lock before its unit of work reads."""
        if not self.db.in_transaction:
            raise RuntimeError("a store write outside Store.transaction()")
        return self.db

    def audit(
        self, actor: str, action: str, entity: str, entity_id: str, **details: Any
    ) -> None:
        self._writing()["audit_log"].insert(
            {
                "at": iso(now_utc()),
                "actor": actor,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "details": json.dumps(details, ensure_ascii=False, sort_keys=True),
            }
        )

    def audit_entries(self, entity_id: str | None = None) -> list[dict[str, Any]]:
        where, params = ("entity_id = ?", [entity_id]) if entity_id else (None, None)
        return list(
            self.db["audit_log"].rows_where(where, params, order_by="id", select="*")
        )

    # --- professionals ------------------------------------------------------

    def add_professional(self, pro: dict[str, Any]) -> None:
        if self.find_professional(pro["id"]):
            raise Conflict(f"professional {pro['id']!r} already exists")
        self._writing()["professionals"].insert({**pro, "created_at": iso(now_utc())})

    def find_professional(self, pro_id: str) -> Professional | None:
        rows = list(self.db["professionals"].rows_where("id = ?", [pro_id]))
        return _professional(rows[0]) if rows else None

    def get_professional(self, pro_id: str) -> Professional:
        pro = self.find_professional(pro_id)
        if pro is None:
            raise NotFound(f"unknown professional {pro_id!r}")
        return pro

    def update_professional(self, pro_id: str, changes: dict[str, Any]) -> None:
        self.get_professional(pro_id)
        self._writing()["professionals"].update(pro_id, changes)

    def list_professionals(self) -> list[Professional]:
        rows = self.db["professionals"].rows_where(order_by="role, name")
        return [_professional(r) for r in rows]

    # --- clients ------------------------------------------------------------

    def add_client(
        self, client_id: str, path_id: str, step_id: str, started_on: date, actor: str
    ) -> None:
        if self.find_client(client_id):
            raise Conflict(f"client {client_id!r} already exists")
        moment = iso(now_utc())
        self._writing()["clients"].insert(
            {
                "id": client_id,
                "path_id": path_id,
                "current_step": step_id,
                "started_on": started_on.isoformat(),
                "ended_on": None,
                "created_at": moment,
            }
        )
        self._record_step(client_id, None, step_id, actor, moment)

    # The three look-ups of every personal answer (`answers.load_view`) are
    # plain queries: sqlite-utils' `rows_where` first lists the tables and
    # views, three more statements each time.
    def find_client(self, client_id: str) -> Client | None:
        rows = list(self.db.query("SELECT * FROM clients WHERE id = ?", [client_id]))
        return Client(**rows[0]) if rows else None

    def get_client(self, client_id: str) -> Client:
        client = self.find_client(client_id)
        if client is None:
            raise NotFound(f"unknown client {client_id!r}")
        return client

    def list_clients(self) -> list[Client]:
        return [Client(**r) for r in self.db["clients"].rows_where(order_by="id")]

    def move_client(self, client_id: str, to_step: str, actor: str) -> None:
        client = self.get_client(client_id)
        moment = iso(now_utc())
        self._writing()["clients"].update(client_id, {"current_step": to_step})
        self._record_step(client_id, client.current_step, to_step, actor, moment)

    def _record_step(
        self, client_id: str, from_step: str | None, to_step: str, actor: str, at: str
    ) -> None:
        self._writing()["step_history"].insert(
            {
                "client_id": client_id,
                "from_step": from_step,
                "to_step": to_step,
                "moved_by": actor,
                "moved_at": at,
            }
        )

    def step_history(self, client_id: str) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM step_history WHERE client_id = ? ORDER BY id",
                [client_id],
            )
        )

    def end_client(self, client_id: str, ended_on: date) -> None:
        self._writing()["clients"].update(client_id, {"ended_on": ended_on.isoformat()})

    # --- assignments --------------------------------------------------------

    def assign(self, client_id: str, role: str, pro_id: str, since: date) -> None:
        existing = self.db.execute(
            "SELECT 1 FROM assignments WHERE client_id = ? AND role = ? "
            "AND professional_id = ? AND until IS NULL",
            [client_id, role, pro_id],
        ).fetchone()
        if existing:
            raise Conflict(f"{pro_id!r} is already assigned to {client_id!r} as {role}")
        self._writing()["assignments"].insert(
            {
                "client_id": client_id,
                "role": role,
                "professional_id": pro_id,
                "since": since.isoformat(),
                "until": None,
            }
        )

    def unassign(self, client_id: str, role: str, pro_id: str, until: date) -> None:
        cursor = self._writing().execute(
            "UPDATE assignments SET until = ? WHERE client_id = ? AND role = ? "
            "AND professional_id = ? AND until IS NULL",
            [until.isoformat(), client_id, role, pro_id],
        )
        if cursor.rowcount == 0:
            raise NotFound(f"{pro_id!r} is not assigned to {client_id!r} as {role}")

    def assignments(self, client_id: str) -> list[Assignment]:
        """The client's active assignments, in the order they were made."""
        rows = self.db.query(
            "SELECT a.role AS a_role, a.since AS a_since, p.* FROM assignments a "
            "JOIN professionals p ON p.id = a.professional_id "
            "WHERE a.client_id = ? AND a.until IS NULL ORDER BY a.id",
            [client_id],
        )
        return [
            Assignment(
                role=row.pop("a_role"),
                since=row.pop("a_since"),
                professional=_professional(row),
            )
            for row in rows
        ]

    def is_assigned(self, client_id: str, pro_id: str) -> bool:
        """Whether the professional is now assigned to the client in any role."""
        row = self.db.execute(
            "SELECT 1 FROM assignments WHERE client_id = ? AND professional_id = ? "
            "AND until IS NULL",
            [client_id, pro_id],
        ).fetchone()
        return row is not None

    def client_rows(self, pro_id: str | None = None) -> list[dict[str, Any]]:
        """Clients with what a worker's list shows: since when on the step,
        open contact requests, the follow-up. All clients when `pro_id` is
        None, else those now assigned to that professional."""
        sql = (
            # On the first step since the start (the add's history entry is
            # written when the client is entered, maybe later than the start).
            "SELECT c.*, COALESCE((SELECT MAX(h.moved_at) FROM step_history h "
            "WHERE h.client_id = c.id AND h.from_step IS NOT NULL), c.started_on) "
            "AS step_since, "
            "(SELECT COUNT(*) FROM contact_requests r WHERE r.client_id = c.id "
            "AND r.handled_at IS NULL) AS open_requests, "
            "f.due_on AS followup_due, f.done_at AS followup_done, "
            "m.meets_on AS meeting_on, m.at_time AS meeting_at "
            "FROM clients c LEFT JOIN followups f ON f.client_id = c.id "
            "LEFT JOIN meetings m ON m.client_id = c.id"
        )
        params: list[Any] = []
        if pro_id is not None:
            sql += (
                " WHERE c.id IN (SELECT client_id FROM assignments "
                "WHERE professional_id = ? AND until IS NULL)"
            )
            params.append(pro_id)
        return list(self.db.query(sql + " ORDER BY c.id", params))

    def step_counts(self) -> list[dict[str, Any]]:
        """How many clients in service are on each step of each path."""
        return list(
            self.db.query(
                "SELECT path_id, current_step, COUNT(*) AS clients FROM clients "
                "WHERE ended_on IS NULL GROUP BY path_id, current_step "
                "ORDER BY path_id, current_step"
            )
        )

    # --- the next meeting and the client's own path -------------------------

    def set_meeting(
        self,
        client_id: str,
        meets_on: date,
        at_time: str,
        place: str,
        with_whom: str,
        actor: str,
    ) -> None:
        """The client's next meeting; replaces the one set before."""
        self._writing()["meetings"].upsert(
            {
                "client_id": client_id,
                "meets_on": meets_on.isoformat(),
                "at_time": at_time,
                "place": place,
                "with_whom": with_whom,
                "set_by": actor,
                "set_at": iso(now_utc()),
            },
            pk="client_id",
        )

    def find_meeting(self, client_id: str) -> Meeting | None:
        rows = list(
            self.db.query("SELECT * FROM meetings WHERE client_id = ?", [client_id])
        )
        return Meeting(**rows[0]) if rows else None

    def delete_meeting(self, client_id: str) -> int:
        cursor = self._writing().execute(
            "DELETE FROM meetings WHERE client_id = ?", [client_id]
        )
        return cursor.rowcount

    def add_own_path_item(
        self,
        client_id: str,
        kind: str,
        text: str,
        due_on: date | None,
        actor: str,
    ) -> int:
        table = self._writing()["own_path_items"]
        table.insert(
            {
                "client_id": client_id,
                "kind": kind,
                "text": text,
                "due_on": due_on.isoformat() if due_on else None,
                "created_by": actor,
                "created_at": iso(now_utc()),
            }
        )
        return table.last_pk

    def own_path_items(self, client_id: str) -> list[OwnPathItem]:
        """The client's own path: goals, things to try, then actions by date."""
        rows = self.db.query(
            "SELECT * FROM own_path_items WHERE client_id = ? ORDER BY "
            "CASE kind WHEN 'goal' THEN 0 WHEN 'try' THEN 1 ELSE 2 END, due_on, id",
            [client_id],
        )
        return [OwnPathItem(**r) for r in rows]

    def delete_own_path_item(self, client_id: str, item_id: int) -> int:
        """Delete one item of this client's (0 when it is not theirs)."""
        cursor = self._writing().execute(
            "DELETE FROM own_path_items WHERE id = ? AND client_id = ?",
            [item_id, client_id],
        )
        return cursor.rowcount

    def delete_own_path(self, client_id: str) -> int:
        """Delete every item of the client's own path."""
        cursor = self._writing().execute(
            "DELETE FROM own_path_items WHERE client_id = ?", [client_id]
        )
        return cursor.rowcount

    # --- follow-up contacts -------------------------------------------------

    def schedule_followup(
        self, client_id: str, role: str, due_on: date, due_by: date
    ) -> None:
        self._writing()["followups"].upsert(
            {
                "client_id": client_id,
                "role": role,
                "due_on": due_on.isoformat(),
                "due_by": due_by.isoformat(),
                "done_at": None,
                "done_by": None,
            },
            pk="client_id",
        )

    def find_followup(self, client_id: str) -> FollowUp | None:
        rows = list(
            self.db.query("SELECT * FROM followups WHERE client_id = ?", [client_id])
        )
        return FollowUp(**rows[0]) if rows else None

    def open_followups(self, due_before: date | None = None) -> list[FollowUp]:
        where, params = "done_at IS NULL", []
        if due_before is not None:
            where += " AND due_on < ?"
            params.append(due_before.isoformat())
        rows = self.db["followups"].rows_where(where, params, order_by="due_on")
        return [FollowUp(**r) for r in rows]

    def mark_followup_done(self, client_id: str, actor: str) -> None:
        self._writing()["followups"].update(
            client_id, {"done_at": iso(now_utc()), "done_by": actor}
        )

    # --- contact requests ---------------------------------------------------

    def add_contact_request(
        self,
        client_id: str,
        role: str | None,
        pro_id: str | None,
        asked: str | None = None,
        reachable: str | None = None,
    ) -> int:
        """A request for a call; `asked` is the client's message, masked."""
        table = self._writing()["contact_requests"]
        table.insert(
            {
                "client_id": client_id,
                "role": role,
                "professional_id": pro_id,
                "created_at": iso(now_utc()),
                "handled_at": None,
                "handled_by": None,
                "asked": asked,
                "reachable": reachable,
            }
        )
        return table.last_pk

    def open_contact_requests(self) -> list[dict[str, Any]]:
        return list(
            self.db["contact_requests"].rows_where("handled_at IS NULL", order_by="id")
        )

    def find_contact_request(self, request_id: int) -> dict[str, Any] | None:
        rows = list(
            self.db.query("SELECT * FROM contact_requests WHERE id = ?", [request_id])
        )
        return rows[0] if rows else None

    def mark_contact_request_handled(
        self, request_id: int, actor: str, note: str | None = None
    ) -> None:
        row = self.find_contact_request(request_id)
        if row is None:
            raise NotFound(f"unknown contact request {request_id}")
        if row["handled_at"]:
            raise Conflict(f"contact request {request_id} is already handled")
        self._writing()["contact_requests"].update(
            request_id,
            {"handled_at": iso(now_utc()), "handled_by": actor, "note": note},
        )

    def open_contact_requests_for(self, pro_id: str | None) -> list[dict[str, Any]]:
        """Open requests, oldest first: all of them (`pro_id` None), or those
        naming the professional or made by a client assigned to them."""
        sql = "SELECT r.* FROM contact_requests r WHERE r.handled_at IS NULL"
        params: list[Any] = []
        if pro_id is not None:
            sql += (
                " AND (r.professional_id = ? OR r.client_id IN (SELECT client_id "
                "FROM assignments WHERE professional_id = ? AND until IS NULL))"
            )
            params = [pro_id, pro_id]
        return list(self.db.query(sql + " ORDER BY r.id", params))

    # --- feedback -----------------------------------------------------------

    def add_feedback(
        self,
        topic: str,
        helpful: bool | None,
        comment: str | None,
        client_id: str | None = None,
        path_id: str | None = None,
    ) -> int:
        table = self._writing()["feedback"]
        table.insert(
            {
                "client_id": client_id,
                "path_id": path_id,
                "topic": topic,
                "helpful": None if helpful is None else int(helpful),
                "comment": (comment or "").strip()[:FEEDBACK_COMMENT_MAX] or None,
                "created_at": iso(now_utc()),
            }
        )
        return table.last_pk

    def feedback_summary(self) -> list[dict[str, Any]]:
        """Counts by topic and path: helpful, not helpful, comments."""
        return list(
            self.db.query(
                "SELECT topic, COALESCE(path_id, '-') AS path_id, "
                "SUM(CASE WHEN helpful = 1 THEN 1 END) AS helpful, "
                "SUM(CASE WHEN helpful = 0 THEN 1 END) AS not_helpful, "
                "COUNT(comment) AS comments FROM feedback "
                "GROUP BY topic, COALESCE(path_id, '-') ORDER BY topic, path_id"
            )
        )

    def feedback_comments(self) -> list[dict[str, Any]]:
        return list(
            self.db["feedback"].rows_where(
                "comment IS NOT NULL",
                select="created_at, topic, path_id, comment",
                order_by="id",
            )
        )

    def feedback_by_path(self, path_id: str) -> list[dict[str, Any]]:
        """One path's feedback by topic: helpful, not helpful, comments."""
        return list(
            self.db.query(
                "SELECT topic, "
                "COALESCE(SUM(CASE WHEN helpful = 1 THEN 1 END), 0) AS helpful, "
                "COALESCE(SUM(CASE WHEN helpful = 0 THEN 1 END), 0) AS not_helpful, "
                "COUNT(comment) AS comments FROM feedback WHERE path_id = ? "
                "GROUP BY topic ORDER BY topic",
                [path_id],
            )
        )

    def unhelpful_comments(self, path_id: str, limit: int = 100) -> list[dict]:
        """The comments on answers marked unhelpful on a path, newest first,
        as texts and counts (the same comment once, with how often)."""
        return list(
            self.db.query(
                "SELECT topic, comment, COUNT(*) AS times, MAX(created_at) AS latest "
                "FROM feedback WHERE path_id = ? AND helpful = 0 "
                "AND comment IS NOT NULL GROUP BY topic, comment "
                "ORDER BY times DESC, latest DESC LIMIT ?",
                [path_id, limit],
            )
        )

    # --- questions the assistant did not understand ----------------------------

    def add_unanswered(
        self,
        kind: str,
        text: str,
        path_id: str | None,
        guesses: list[tuple[str, float]],
    ) -> None:
        """A question the assistant missed (`fallback`) or was unsure of
        (`low_confidence`): its masked text, the path and the best two guesses.
        No client id: the learning pages must not lead to a person."""
        first = guesses[0] if guesses else (None, None)
        second = guesses[1] if len(guesses) > 1 else (None, None)
        self._writing()["unanswered"].insert(
            {
                "path_id": path_id,
                "kind": kind,
                "text": text,
                "intent": first[0],
                "confidence": first[1],
                "second_intent": second[0],
                "second_confidence": second[1],
                "created_at": iso(now_utc()),
            }
        )

    def unanswered_summary(self, path_id: str, limit: int = 200) -> list[dict]:
        """A path's missed questions as texts with counts, most asked first.

        The guesses shown are the ones made most often for that text (ties by
        name), not one picked by the alphabet."""
        return list(
            self.db.query(
                "SELECT u.kind, u.text, COUNT(*) AS times, "
                "MAX(u.created_at) AS latest, "
                f"{_MOST_OFTEN.format(column='intent')} AS intent, "
                "AVG(u.confidence) AS confidence, "
                f"{_MOST_OFTEN.format(column='second_intent')} AS second_intent "
                "FROM unanswered u WHERE u.path_id = ? GROUP BY u.kind, u.text "
                "ORDER BY times DESC, latest DESC LIMIT ?",
                [path_id, path_id, path_id, limit],
            )
        )

    def purge_unanswered(self, before: str) -> int:
        """Delete missed questions recorded before `before` (ISO time, UTC)."""
        cursor = self._writing().execute(
            "DELETE FROM unanswered WHERE created_at < ?", [before]
        )
        return cursor.rowcount

    # --- staff accounts and their sessions -----------------------------------

    def add_staff(self, member: dict[str, Any]) -> None:
        if self.find_staff(member["id"]):
            raise Conflict(f"staff member {member['id']!r} already exists")
        if self.find_staff_by_email(member["email"]):
            raise Conflict(f"the e-mail address {member['email']!r} is already in use")
        self._writing()["staff"].insert(
            {**member, "password_hash": None, "active": 1, "created_at": iso(now_utc())}
        )

    def find_staff(self, staff_id: str) -> StaffMember | None:
        rows = list(self.db.query("SELECT * FROM staff WHERE id = ?", [staff_id]))
        return _staff(rows[0]) if rows else None

    def get_staff(self, staff_id: str) -> StaffMember:
        member = self.find_staff(staff_id)
        if member is None:
            raise NotFound(f"unknown staff member {staff_id!r}")
        return member

    def find_staff_by_email(self, email: str) -> StaffMember | None:
        rows = list(
            self.db.query("SELECT * FROM staff WHERE email = ?", [email.lower()])
        )
        return _staff(rows[0]) if rows else None

    def staff_password_hash(self, staff_id: str) -> str | None:
        row = self.db.execute(
            "SELECT password_hash FROM staff WHERE id = ?", [staff_id]
        ).fetchone()
        return row[0] if row else None

    def list_staff(self) -> list[StaffMember]:
        return [_staff(r) for r in self.db.query("SELECT * FROM staff ORDER BY id")]

    def set_staff_password(self, staff_id: str, password_hash: str) -> None:
        self._writing().execute(
            "UPDATE staff SET password_hash = ? WHERE id = ?",
            [password_hash, staff_id],
        )

    def update_staff(self, staff_id: str, role: str, pro_id: str | None) -> None:
        self._writing().execute(
            "UPDATE staff SET role = ?, professional_id = ? WHERE id = ?",
            [role, pro_id, staff_id],
        )

    def staff_paths(self, staff_id: str) -> list[str]:
        """The paths a path owner sees (their ids, sorted)."""
        rows = self.db.execute(
            "SELECT path_id FROM staff_paths WHERE staff_id = ? ORDER BY path_id",
            [staff_id],
        ).fetchall()
        return [r[0] for r in rows]

    def all_staff_paths(self) -> dict[str, list[str]]:
        paths: dict[str, list[str]] = {}
        for row in self.db.query("SELECT * FROM staff_paths ORDER BY path_id"):
            paths.setdefault(row["staff_id"], []).append(row["path_id"])
        return paths

    def set_staff_paths(self, staff_id: str, path_ids: list[str]) -> None:
        db = self._writing()
        db.execute("DELETE FROM staff_paths WHERE staff_id = ?", [staff_id])
        for path_id in sorted(set(path_ids)):
            db["staff_paths"].insert({"staff_id": staff_id, "path_id": path_id})

    def set_staff_active(self, staff_id: str, active: bool) -> None:
        self._writing().execute(
            "UPDATE staff SET active = ? WHERE id = ?", [int(active), staff_id]
        )

    def add_session(self, raw: str, staff_id: str, csrf_token: str) -> None:
        moment = iso(now_utc())
        self._writing()["staff_sessions"].insert(
            {
                "id_hash": session_key(raw),
                "staff_id": staff_id,
                "csrf_token": csrf_token,
                "created_at": moment,
                "last_seen": moment,
            }
        )

    def find_session(self, raw: str) -> StaffSession | None:
        """The session of a presented id, with its staff member (active or not:
        the caller decides)."""
        rows = list(
            self.db.query(
                "SELECT s.csrf_token AS s_csrf, s.created_at AS s_created, "
                "s.last_seen AS s_seen, m.* FROM staff_sessions s "
                "JOIN staff m ON m.id = s.staff_id WHERE s.id_hash = ?",
                [session_key(raw)],
            )
        )
        if not rows:
            return None
        row = rows[0]
        return StaffSession(
            staff=_staff(row),
            csrf_token=row["s_csrf"],
            created_at=row["s_created"],
            last_seen=row["s_seen"],
        )

    def touch_session(self, raw: str) -> None:
        self._writing().execute(
            "UPDATE staff_sessions SET last_seen = ? WHERE id_hash = ?",
            [iso(now_utc()), session_key(raw)],
        )

    def delete_session(self, raw: str) -> None:
        self._writing().execute(
            "DELETE FROM staff_sessions WHERE id_hash = ?", [session_key(raw)]
        )

    def delete_stale_sessions(self, created_before: str, seen_before: str) -> int:
        """Sessions past their absolute or idle limit (ISO times, UTC)."""
        cursor = self._writing().execute(
            "DELETE FROM staff_sessions WHERE created_at < ? OR last_seen < ?",
            [created_before, seen_before],
        )
        return cursor.rowcount

    def delete_staff_sessions(self, staff_id: str) -> int:
        cursor = self._writing().execute(
            "DELETE FROM staff_sessions WHERE staff_id = ?", [staff_id]
        )
        return cursor.rowcount

    # --- personal chat tokens -----------------------------------------------

    def add_token(self, client_id: str, raw: str, expires_at: datetime) -> None:
        self._writing()["tokens"].insert(
            {
                "client_id": client_id,
                "token_hash": hash_token(raw),
                "created_at": iso(now_utc()),
                "expires_at": iso(expires_at),
                "revoked_at": None,
            }
        )

    def revoke_tokens(self, client_id: str) -> int:
        cursor = self._writing().execute(
            "UPDATE tokens SET revoked_at = ? WHERE client_id = ? "
            "AND revoked_at IS NULL",
            [iso(now_utc()), client_id],
        )
        return cursor.rowcount

    def check_token(self, raw: str, now: datetime | None = None) -> TokenCheck:
        """Who a presented token belongs to, if it is still good."""
        return check_token(self.db, raw, now)


def open_store(path: Path | str) -> Store:
    """Connect (see `connections.connect`) and bring the schema up to date."""
    db = connect(path)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return Store(db)


def token_expiry(days: int, now: datetime | None = None) -> datetime:
    return (now or now_utc()) + timedelta(days=days)
