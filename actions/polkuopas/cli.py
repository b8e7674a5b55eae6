"""`polkuopas`: the admin command line.

Usage errors and unknown ids print one line on stderr and exit with 2; every
command that changes the store is one transaction (see `polkuopas.admin`).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from polkuopas.admin import STAFF_ROLES, Admin
from polkuopas.catalog import Catalog, PathFileError, load_catalog
from polkuopas.conversations import purge_conversations
from polkuopas.errors import Invalid, PolkuopasError
from polkuopas.settings import get_settings
from polkuopas.store import (
    OWN_PATH_KINDS,
    Meeting,
    Store,
    backup,
    database_errors,
    describe,
    iso,
    now_utc,
    open_store,
    store_location,
)

EXIT_USAGE = 2
LAMP = "[pilotti]"


class _Once(argparse.Action):
    """Store an option's value, refusing the option twice (`--id a --id b`)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, f"_seen_{self.dest}", False):
            parser.error(f"{option_string} given more than once")
        setattr(namespace, f"_seen_{self.dest}", True)
        setattr(namespace, self.dest, values)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid date {text!r}: use YYYY-MM-DD"
        ) from None


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of days {text!r}") from None
    if not 1 <= value <= 365:
        raise argparse.ArgumentTypeError(f"--days must be 1-365, got {value}")
    return value


def _days_any(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of days {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"days must be at least 1, got {value}")
    return value


# --- context ----------------------------------------------------------------


class Context:
    """What a command needs, opened lazily so `paths` commands need no database."""

    def __init__(self, args: argparse.Namespace):
        settings = get_settings()
        self.settings = settings
        self.paths_dir = Path(args.paths_dir or settings.paths_dir)
        self.db_path = store_location(args.db or settings.db)
        self.actor = args.by or settings.actor or getpass.getuser()
        self._catalog: Catalog | None = None
        self._store: Store | None = None

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog(self.paths_dir)
        return self._catalog

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.db_path)
        return self._store

    @property
    def admin(self) -> Admin:
        return Admin(self.store, self.catalog, self.actor)

    def close(self) -> None:
        if self._store is not None:
            self._store.db.close()


def out(text: str = "") -> None:
    print(text)


# --- paths ------------------------------------------------------------------


def cmd_paths_list(ctx: Context, args: argparse.Namespace) -> int:
    for path in ctx.catalog.paths.values():
        out(f"{path.id}\t{path.short_name}\t{path.name} ({len(path.steps)} steps)")
    return 0


def cmd_paths_show(ctx: Context, args: argparse.Namespace) -> int:
    path = ctx.admin.path(args.path_id)
    if args.json:
        out(json.dumps(path.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return 0
    out(f"{path.name} — {path.short_name} ({path.id})")
    out(f"{path.organisation}, {path.region}")
    out(path.summary)
    out()
    for number, step in enumerate(path.ordered_steps(), start=1):
        lamp = f" {LAMP}" if step.pilot else ""
        out(f"{number}. {step.title} [{step.id}]{lamp}")
        out(f"   Vastuussa: {_role_titles(ctx.catalog, step.responsible)}")
        if step.participants:
            out(f"   Mukana: {_role_titles(ctx.catalog, step.participants)}")
        out(f"   Kesto: {step.duration}")
        for nxt in step.next:
            condition = f" — {nxt.when}" if nxt.when else ""
            out(f"   → {nxt.step}{condition}")
    rule = path.follow_up
    lamp = f" {LAMP}" if rule.pilot else ""
    out()
    out(
        f"Jälkikontakti{lamp}: {rule.earliest_months}–{rule.latest_months} kk "
        f"päättymisen jälkeen, {_role_titles(ctx.catalog, [rule.role])}"
    )
    return 0


def cmd_paths_check(ctx: Context, args: argparse.Namespace) -> int:
    catalog = ctx.catalog  # raises PathFileError on the first broken file
    steps = sum(len(p.steps) for p in catalog.paths.values())
    out(
        f"ok: {len(catalog.roles)} roles and {len(catalog.paths)} paths "
        f"({steps} steps) in {ctx.paths_dir}"
    )
    return 0


def _role_titles(catalog: Catalog, roles: Sequence[str]) -> str:
    return ", ".join(catalog.role(r).title.lower() for r in roles)


# --- professionals ----------------------------------------------------------


def cmd_pro_add(ctx: Context, args: argparse.Namespace) -> int:
    ctx.admin.add_professional(
        args.id,
        args.name,
        args.role,
        args.org or "",
        args.phone,
        args.email,
        args.hours,
    )
    out(f"added professional {args.id} ({args.role})")
    return 0


def cmd_pro_edit(ctx: Context, args: argparse.Namespace) -> int:
    changed = ctx.admin.update_professional(
        args.pro_id, args.phone, args.email, args.hours
    )
    out(f"changed {', '.join(sorted(changed))} of professional {args.pro_id}")
    return 0


def cmd_pro_list(ctx: Context, args: argparse.Namespace) -> int:
    for pro in ctx.store.list_professionals():
        state = "" if pro.active else " (not active)"
        out(f"{pro.id}\t{pro.role}\t{pro.name}\t{pro.organisation}{state}")
    return 0


# --- staff accounts ---------------------------------------------------------


def cmd_staff_add(ctx: Context, args: argparse.Namespace) -> int:
    ctx.admin.add_staff(
        args.id, args.name, args.email, args.role, args.pro, args.path or None
    )
    out(
        f"added staff member {args.id} ({args.role}); "
        f"set a password with 'polkuopas staff password {args.id}'"
    )
    return 0


def cmd_staff_list(ctx: Context, args: argparse.Namespace) -> int:
    for member in ctx.store.list_staff():
        state = "" if member.active else " (disabled)"
        state += "" if member.has_password else " (no password)"
        pro = member.professional_id or "-"
        paths = ctx.store.staff_paths(member.id)
        state += f"\tpaths: {','.join(paths)}" if paths else ""
        out(f"{member.id}\t{member.role}\t{member.email}\t{pro}\t{member.name}{state}")
    return 0


def cmd_staff_change(ctx: Context, args: argparse.Namespace) -> int:
    member = ctx.admin.staff(args.staff_id)
    pro = member.professional_id if args.pro is None else (args.pro or None)
    ended = ctx.admin.change_staff(args.staff_id, args.role or member.role, pro)
    out(f"changed staff member {args.staff_id}; ended {ended} session(s)")
    return 0


def cmd_staff_paths(ctx: Context, args: argparse.Namespace) -> int:
    if args.path or args.clear:
        ctx.admin.set_staff_paths(args.staff_id, args.path or [])
    else:
        ctx.admin.staff(args.staff_id)
    paths = ctx.store.staff_paths(args.staff_id)
    out(f"{args.staff_id}: {', '.join(paths) if paths else 'no paths'}")
    return 0


def cmd_staff_disable(ctx: Context, args: argparse.Namespace) -> int:
    ended = ctx.admin.disable_staff(args.staff_id)
    out(f"disabled staff member {args.staff_id}; ended {ended} session(s)")
    return 0


def read_password(prompt: str) -> str:
    """A terminal is asked twice without echo; otherwise one line of stdin
    (a script: `printf '%s\\n' "$pw" | polkuopas staff password ID`)."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise Invalid("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise Invalid("no password on standard input")
    return line.rstrip("\r\n")


def cmd_staff_password(ctx: Context, args: argparse.Namespace) -> int:
    ctx.admin.staff(args.staff_id)  # an unknown id fails before the prompt
    ctx.admin.set_staff_password(
        args.staff_id, read_password(f"new password for {args.staff_id}: ")
    )
    out(f"set the password of {args.staff_id}; other sessions ended")
    return 0


# --- clients ----------------------------------------------------------------


def cmd_client_add(ctx: Context, args: argparse.Namespace) -> int:
    step = ctx.admin.add_client(args.id, args.path, args.step, args.start)
    out(f"added client {args.id} on {args.path} at step {step}")
    return 0


def cmd_client_assign(ctx: Context, args: argparse.Namespace) -> int:
    ctx.admin.assign(args.client_id, args.role, args.pro)
    out(f"assigned {args.pro} to {args.client_id} as {args.role}")
    return 0


def cmd_client_unassign(ctx: Context, args: argparse.Namespace) -> int:
    ctx.admin.unassign(args.client_id, args.role, args.pro)
    out(f"ended the assignment of {args.pro} to {args.client_id} as {args.role}")
    return 0


def cmd_client_advance(ctx: Context, args: argparse.Namespace) -> int:
    step = ctx.admin.advance(args.client_id, args.to)
    out(f"moved {args.client_id} to step {step}")
    return 0


def cmd_client_end(ctx: Context, args: argparse.Namespace) -> int:
    followup = ctx.admin.end(args.client_id, args.on)
    if followup is None:
        out(f"ended {args.client_id}; no follow-up contact after this step")
        return 0
    out(
        f"ended {args.client_id}; follow-up contact by {followup.role} due "
        f"{followup.due_on} (at the latest {followup.due_by})"
    )
    return 0


def client_summary(ctx: Context, client_id: str) -> dict[str, Any]:
    client = ctx.store.get_client(client_id)
    path = ctx.admin.path(client.path_id)
    order = [s.id for s in path.ordered_steps()]
    step = path.step(client.current_step)
    followup = ctx.store.find_followup(client_id)
    meeting = ctx.store.find_meeting(client_id)
    return {
        "id": client.id,
        "path": {"id": path.id, "name": path.name, "short_name": path.short_name},
        "step": {
            "id": step.id,
            "title": step.title,
            "number": order.index(step.id) + 1,
            "of": len(order),
        },
        "started_on": client.started_on,
        "ended_on": client.ended_on,
        "professionals": [
            {
                "role": a.role,
                "role_title": ctx.catalog.role(a.role).title,
                "id": a.professional.id,
                "name": a.professional.name,
                "phone": a.professional.phone,
                "email": a.professional.email,
                "hours": a.professional.hours,
                "since": a.since,
            }
            for a in ctx.store.assignments(client_id)
        ],
        "next_meeting": None
        if meeting is None
        else {
            "on": meeting.meets_on,
            "at": meeting.at_time,
            "place": meeting.place,
            "with": meeting.with_whom,
        },
        "own_path": [
            {"id": i.id, "kind": i.kind, "text": i.text, "due_on": i.due_on}
            for i in ctx.store.own_path_items(client_id)
        ],
        "followup": None
        if followup is None
        else {
            "role": followup.role,
            "due_on": followup.due_on,
            "due_by": followup.due_by,
            "done_at": followup.done_at,
        },
    }


def cmd_client_show(ctx: Context, args: argparse.Namespace) -> int:
    summary = client_summary(ctx, args.client_id)
    if args.json:
        out(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    step = summary["step"]
    out(f"client:    {summary['id']}")
    out(f"path:      {summary['path']['id']} ({summary['path']['short_name']})")
    out(f"step:      {step['id']} — {step['title']} ({step['number']}/{step['of']})")
    out(f"started:   {summary['started_on']}")
    out(f"ended:     {summary['ended_on'] or '-'}")
    out("professionals:")
    if not summary["professionals"]:
        out("  (none assigned)")
    for pro in summary["professionals"]:
        contact = ", ".join(x for x in (pro["phone"], pro["email"], pro["hours"]) if x)
        out(f"  {pro['role']}: {pro['name']} [{pro['id']}]  {contact}".rstrip())
    meeting = summary["next_meeting"]
    if meeting:
        out(
            f"meeting:   {meeting['on']} {meeting['at']}, {meeting['place']}, "
            f"with {meeting['with']}"
        )
    if summary["own_path"]:
        out(f"own path:  {len(summary['own_path'])} item(s) (client own-path ID)")
    followup = summary["followup"]
    if followup:
        state = f"done {followup['done_at'][:10]}" if followup["done_at"] else "open"
        out(
            f"follow-up: {followup['role']}, due {followup['due_on']}"
            f"–{followup['due_by']} ({state})"
        )
    return 0


def cmd_client_list(ctx: Context, args: argparse.Namespace) -> int:
    for client in ctx.store.list_clients():
        ended = f"\tended {client.ended_on}" if client.ended else ""
        out(f"{client.id}\t{client.path_id}\t{client.current_step}{ended}")
    return 0


def cmd_client_token(ctx: Context, args: argparse.Namespace) -> int:
    if args.revoke:
        count = ctx.admin.revoke_tokens(args.client_id)
        out(f"revoked {count} token(s) of {args.client_id}")
        return 0
    raw = ctx.admin.issue_token(args.client_id, args.days or ctx.settings.token_days)
    days = args.days or ctx.settings.token_days
    print(
        f"new personal chat token for {args.client_id}, valid {days} days; "
        "shown only once:",
        file=sys.stderr,
    )
    if args.link:
        base = ctx.settings.link_base.split("#", 1)[0]
        out(f"{base}#token={raw}")
    else:
        out(raw)
    return 0


def meeting_line(meeting: Meeting) -> str:
    return (
        f"{meeting.meets_on} {meeting.at_time}, {meeting.place}, "
        f"with {meeting.with_whom}"
    )


def cmd_client_meeting(ctx: Context, args: argparse.Namespace) -> int:
    given = [args.on, args.at, args.place, args.with_whom]
    if args.clear:
        if any(v is not None for v in given):
            raise Invalid("--clear takes no other option")
        ctx.admin.clear_meeting(args.client_id)
        out(f"cleared the next meeting of {args.client_id}")
        return 0
    if all(v is None for v in given):
        ctx.store.get_client(args.client_id)
        meeting = ctx.store.find_meeting(args.client_id)
        out(meeting_line(meeting) if meeting else "no next meeting")
        return 0
    if any(v is None for v in given):
        raise Invalid("give all of --on, --at, --place and --with")
    ctx.admin.set_meeting(args.client_id, args.on, args.at, args.place, args.with_whom)
    out(f"set the next meeting of {args.client_id}: {args.on} {args.at}")
    return 0


def cmd_client_own_path(ctx: Context, args: argparse.Namespace) -> int:
    if args.remove_all:
        count = ctx.admin.remove_own_path(args.client_id)
        out(f"removed {count} item(s) of the own path of {args.client_id}")
        return 0
    if args.remove is not None:
        ctx.admin.remove_own_path_item(args.client_id, args.remove)
        out(f"removed item {args.remove} of the own path of {args.client_id}")
        return 0
    if args.add is not None:
        item = ctx.admin.add_own_path_item(
            args.client_id, args.add, args.text or "", args.due, args.client_agreed
        )
        out(f"added item {item} ({args.add}) to the own path of {args.client_id}")
        return 0
    ctx.store.get_client(args.client_id)
    items = ctx.store.own_path_items(args.client_id)
    if not items:
        out("no own path written")
    for item in items:
        due = f"\tby {item.due_on}" if item.due_on else ""
        out(f"{item.id}\t{item.kind}\t{item.text}{due}")
    return 0


# --- follow-ups -------------------------------------------------------------


def cmd_followups(ctx: Context, args: argparse.Namespace) -> int:
    rows = ctx.store.open_followups(args.due_before)
    if not rows:
        out("no open follow-up contacts" + _before(args.due_before))
        return 0
    for row in rows:
        responsible = [
            a.professional
            for a in ctx.store.assignments(row.client_id)
            if a.role == row.role
        ]
        names = ", ".join(f"{p.name} [{p.id}]" for p in responsible)
        who = names or f"no {row.role} assigned"
        out(f"{row.client_id}\tdue {row.due_on}–{row.due_by}\t{row.role}: {who}")
    return 0


def _before(day: date | None) -> str:
    return f" due before {day}" if day else ""


def cmd_followups_done(ctx: Context, args: argparse.Namespace) -> int:
    ctx.admin.followup_done(args.client_id)
    out(f"marked the follow-up contact of {args.client_id} done")
    return 0


# --- contact requests -------------------------------------------------------


def cmd_contacts(ctx: Context, args: argparse.Namespace) -> int:
    rows = ctx.store.open_contact_requests()
    if not rows:
        out("no open contact requests")
        return 0
    for row in rows:
        pro = ctx.store.find_professional(row["professional_id"] or "")
        who = f"{pro.name} [{pro.id}]" if pro else "no named professional"
        out(f"{row['id']}\t{row['created_at'][:16]}\t{row['client_id']}\t{who}")
    return 0


def cmd_contacts_done(ctx: Context, args: argparse.Namespace) -> int:
    ctx.admin.contact_request_handled(args.request_id, args.note)
    out(f"marked contact request {args.request_id} handled")
    return 0


# --- feedback ---------------------------------------------------------------


def cmd_feedback_report(ctx: Context, args: argparse.Namespace) -> int:
    rows = ctx.store.feedback_summary()
    if not rows:
        out("no feedback yet")
        return 0
    out("topic\tpath\thelpful\tnot helpful\tcomments")
    for row in rows:
        out(
            f"{row['topic']}\t{row['path_id']}\t{row['helpful'] or 0}\t"
            f"{row['not_helpful'] or 0}\t{row['comments']}"
        )
    if args.comments:
        out()
        for row in ctx.store.feedback_comments():
            out(f"{row['created_at'][:10]}\t{row['topic']}\t{row['comment']}")
    return 0


# --- backup and retention ---------------------------------------------------


def cmd_backup(ctx: Context, args: argparse.Namespace) -> int:
    target = Path(args.file)
    backup(ctx.store.db, target)
    with ctx.store.transaction():
        ctx.store.audit(ctx.actor, "backup", "database", str(target))
    out(f"backed up {describe(ctx.db_path)} to {target}")
    return 0


def cmd_conversations_purge(ctx: Context, args: argparse.Namespace) -> int:
    days = args.older_than or ctx.settings.retention_days
    tracker_db = Path(args.tracker_db or ctx.settings.tracker_db)
    if str(tracker_db).startswith(("postgresql:", "postgres:")):
        raise Invalid(
            "`polkuopas conversations purge` works on Rasa's SQLite tracker "
            "file; for a PostgreSQL tracker store run deploy/purge-conversations.sql"
        )
    count = purge_conversations(tracker_db, days)
    out(f"deleted {count} conversation(s) idle for more than {days} days")
    # The learning pages' notes are excerpts of conversations: the same days.
    with ctx.store.transaction():
        notes = ctx.store.purge_unanswered(iso(now_utc() - timedelta(days=days)))
    out(f"deleted {notes} learning note(s) older than {days} days")
    return 0


# --- demo -------------------------------------------------------------------


def cmd_demo(ctx: Context, args: argparse.Namespace) -> int:
    from polkuopas.demo import seed_demo

    for line in seed_demo(ctx.admin):
        out(line)
    return 0


# --- parser -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polkuopas",
        description="Admin command line of Polkuopas: service paths, "
        "professionals, clients, tokens and follow-up contacts.",
    )
    parser.add_argument(
        "--db", action=_Once, help="SQLite file or postgresql:// URL (env POLKUOPAS_DB)"
    )
    parser.add_argument(
        "--paths-dir", action=_Once, help="path files (env POLKUOPAS_PATHS_DIR)"
    )
    parser.add_argument(
        "--by", action=_Once, help="name for the audit log (env POLKUOPAS_ACTOR)"
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def command(
        subparsers: Any, name: str, handler: Callable[..., int], help_text: str
    ) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    paths = groups.add_parser("paths", help="service path files").add_subparsers(
        dest="cmd", required=True, metavar="COMMAND"
    )
    command(paths, "list", cmd_paths_list, "list the service paths")
    show = command(paths, "show", cmd_paths_show, "show one path step by step")
    show.add_argument("path_id", metavar="PATH_ID")
    show.add_argument("--json", action="store_true", help="print JSON")
    command(paths, "check", cmd_paths_check, "validate roles.yml and every path")

    pro = groups.add_parser("pro", help="professionals").add_subparsers(
        dest="cmd", required=True, metavar="COMMAND"
    )
    add = command(pro, "add", cmd_pro_add, "add a professional")
    add.add_argument("--id", required=True, action=_Once)
    add.add_argument("--name", required=True, action=_Once)
    add.add_argument("--role", required=True, action=_Once, help="main role id")
    add.add_argument("--phone", action=_Once)
    add.add_argument("--email", action=_Once)
    add.add_argument("--hours", action=_Once, help="when they can be reached")
    add.add_argument("--org", action=_Once, help="organisation")
    sub = command(
        pro, "edit", cmd_pro_edit,
        "change a professional's phone, e-mail or office hours ('' clears)",
    )  # fmt: skip
    sub.add_argument("pro_id", metavar="PRO_ID")
    sub.add_argument("--phone", action=_Once)
    sub.add_argument("--email", action=_Once)
    sub.add_argument("--hours", action=_Once, help="when they can be reached")
    command(pro, "list", cmd_pro_list, "list professionals")

    staff = groups.add_parser(
        "staff", help="staff accounts of the workspace (/tyotila)"
    ).add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    add = command(staff, "add", cmd_staff_add, "add a staff account")
    add.add_argument("--id", required=True, action=_Once)
    add.add_argument("--name", required=True, action=_Once)
    add.add_argument("--email", required=True, action=_Once, help="the sign-in")
    add.add_argument(
        "--role", required=True, action=_Once, choices=STAFF_ROLES,
        help="tyontekija: own clients; polun_omistaja: path figures; admin: all",
    )  # fmt: skip
    add.add_argument(
        "--pro", action=_Once, metavar="PRO_ID",
        help="the professional record (required for tyontekija)",
    )  # fmt: skip
    add.add_argument(
        "--path", action="append", metavar="PATH_ID",
        help="a path a polun_omistaja sees (repeat for more)",
    )  # fmt: skip
    command(staff, "list", cmd_staff_list, "list staff accounts")
    sub = command(
        staff, "change", cmd_staff_change,
        "change the role or professional record (the account's sessions end)",
    )  # fmt: skip
    sub.add_argument("staff_id", metavar="ID")
    sub.add_argument("--role", action=_Once, choices=STAFF_ROLES)
    sub.add_argument(
        "--pro", action=_Once, metavar="PRO_ID", help="'' removes the link"
    )
    sub = command(
        staff, "paths", cmd_staff_paths,
        "show or set the paths a polun_omistaja sees",
    )  # fmt: skip
    sub.add_argument("staff_id", metavar="ID")
    sub.add_argument(
        "--path", action="append", metavar="PATH_ID",
        help="the paths, replacing the ones before (repeat for more)",
    )  # fmt: skip
    sub.add_argument("--clear", action="store_true", help="no paths")
    sub = command(staff, "disable", cmd_staff_disable, "disable an account")
    sub.add_argument("staff_id", metavar="ID")
    sub = command(
        staff, "password", cmd_staff_password,
        "set a password (prompts; reads one line when stdin is not a terminal)",
    )  # fmt: skip
    sub.add_argument("staff_id", metavar="ID")

    client = groups.add_parser("client", help="clients").add_subparsers(
        dest="cmd", required=True, metavar="COMMAND"
    )
    add = command(client, "add", cmd_client_add, "add a client to a path")
    add.add_argument("--id", required=True, action=_Once, help="pseudonymous id")
    add.add_argument("--path", required=True, action=_Once, metavar="PATH_ID")
    add.add_argument("--step", action=_Once, metavar="STEP_ID", help="default: first")
    add.add_argument("--start", action=_Once, type=_date, help="YYYY-MM-DD (today)")
    for name, handler, text in (
        ("assign", cmd_client_assign, "assign a professional to a client in a role"),
        ("unassign", cmd_client_unassign, "end an assignment"),
    ):
        sub = command(client, name, handler, text)
        sub.add_argument("client_id", metavar="ID")
        sub.add_argument("--role", required=True, action=_Once)
        sub.add_argument("--pro", required=True, action=_Once, metavar="PRO_ID")
    sub = command(client, "advance", cmd_client_advance, "move to a next step")
    sub.add_argument("client_id", metavar="ID")
    sub.add_argument("--to", action=_Once, metavar="STEP_ID")
    sub = command(client, "end", cmd_client_end, "end the service, plan follow-up")
    sub.add_argument("client_id", metavar="ID")
    sub.add_argument("--on", action=_Once, type=_date, help="YYYY-MM-DD (today)")
    sub = command(client, "show", cmd_client_show, "path, step and professionals")
    sub.add_argument("client_id", metavar="ID")
    sub.add_argument("--json", action="store_true", help="print JSON")
    command(client, "list", cmd_client_list, "list clients")
    sub = command(client, "token", cmd_client_token, "issue a personal chat token")
    sub.add_argument("client_id", metavar="ID")
    mode = sub.add_mutually_exclusive_group()
    mode.add_argument("--days", action=_Once, type=_days, help="validity (1-365)")
    mode.add_argument("--revoke", action="store_true", help="revoke all tokens")
    sub.add_argument("--link", action="store_true", help="print the personal link")
    sub = command(
        client, "meeting", cmd_client_meeting,
        "show, set or clear the next meeting (date, time, place, with whom)",
    )  # fmt: skip
    sub.add_argument("client_id", metavar="ID")
    sub.add_argument("--on", action=_Once, type=_date, help="YYYY-MM-DD")
    sub.add_argument("--at", action=_Once, metavar="HH:MM", help="time of day")
    sub.add_argument("--place", action=_Once, help="where")
    sub.add_argument("--with", dest="with_whom", action=_Once, help="with whom")
    sub.add_argument("--clear", action="store_true", help="remove the next meeting")
    sub = command(
        client, "own-path", cmd_client_own_path,
        "the client's own path: list, add (with the client's agreement), remove",
    )  # fmt: skip
    sub.add_argument("client_id", metavar="ID")
    mode = sub.add_mutually_exclusive_group()
    mode.add_argument(
        "--add", action=_Once, choices=OWN_PATH_KINDS,
        help="goal (own words), try (wants to try) or action (agreed, with --due)",
    )  # fmt: skip
    mode.add_argument("--remove", action=_Once, type=int, metavar="ITEM_ID")
    mode.add_argument("--remove-all", action="store_true", help="delete every item")
    sub.add_argument("--text", action=_Once, help="in the client's own words")
    sub.add_argument("--due", action=_Once, type=_date, help="YYYY-MM-DD")
    sub.add_argument(
        "--client-agreed", action="store_true",
        help="the client agreed to this being written (required to add)",
    )  # fmt: skip

    followups = groups.add_parser(
        "followups",
        help="follow-up contacts that are due",
        description="List open follow-up contacts, or mark one done.",
    )
    followups.set_defaults(handler=cmd_followups)
    followups.add_argument(
        "--due-before", action=_Once, type=_date, metavar="YYYY-MM-DD"
    )
    done = followups.add_subparsers(dest="cmd", metavar="COMMAND")
    sub = command(done, "done", cmd_followups_done, "mark a follow-up contact done")
    sub.add_argument("client_id", metavar="ID")

    contacts = groups.add_parser(
        "contacts",
        help="contact requests from the chat",
        description="List open contact requests from the chat, or mark one handled.",
    )
    contacts.set_defaults(handler=cmd_contacts)
    handled = contacts.add_subparsers(dest="cmd", metavar="COMMAND")
    sub = command(handled, "done", cmd_contacts_done, "mark a contact request handled")
    sub.add_argument("request_id", metavar="REQUEST_ID", type=int)
    sub.add_argument("--note", action=_Once, help="what was done (kept, not logged)")

    feedback = groups.add_parser(
        "feedback", help="feedback from the chat"
    ).add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sub = command(
        feedback, "report", cmd_feedback_report, "summarise feedback by topic and path"
    )
    sub.add_argument("--comments", action="store_true", help="also list comments")

    sub = command(groups, "backup", cmd_backup, "online backup of the client store")
    sub.add_argument("file", metavar="FILE", help="new file to write the copy to")
    conversations = groups.add_parser(
        "conversations", help="stored chat conversations"
    ).add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sub = command(
        conversations,
        "purge",
        cmd_conversations_purge,
        "delete conversations idle longer than the retention period",
    )
    sub.add_argument(
        "--older-than", action=_Once, type=_days_any, metavar="DAYS",
        help="days (default: POLKUOPAS_RETENTION_DAYS)",
    )  # fmt: skip
    sub.add_argument("--tracker-db", action=_Once, help="Rasa's tracker store file")

    command(groups, "demo", cmd_demo, "seed the demo clients (idempotent)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        ctx = Context(args)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        variable = "POLKUOPAS_" + str(error["loc"][0]).upper()
        return fail(f"invalid environment variable {variable}: {error['msg']}")
    try:
        return args.handler(ctx, args)
    except (PolkuopasError, PathFileError) as exc:
        return fail(str(exc))
    except (sqlite3.DatabaseError, *database_errors()) as exc:
        return fail(f"cannot use the database {describe(ctx.db_path)}: {exc}")
    finally:
        ctx.close()


def fail(message: str) -> int:
    print(f"polkuopas: error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
