"""The custom actions of the assistant, as rasa_sdk `Action` classes.

Each action works out who is asking (the identity the input channel attached to
the message), loads that client's `ClientView` and picks messages
(`messages_fi.yml` holds every Finnish text) with the values filled in. The
logic lives in `polkuopas.answers`; these classes only choose what to say.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from polkuopas.admin import Admin
from polkuopas.answers import (
    NO_IDENTITY,
    ClientView,
    Identity,
    branch_lines,
    contact_lines,
    finnish_date,
    follow_up_window,
    identity_from_metadata,
    in_sentence,
    item_lines,
    join_names,
    load_own_path,
    load_view,
    main_contacts,
    meeting_is_past,
    meeting_when,
    path_lines,
    path_payload,
    possessive,
    resolve_roles,
    responsible_text,
    step_position,
    substitutes,
)
from polkuopas.catalog import Catalog, ServicePath
from polkuopas.messages import Messages
from polkuopas.questions import (
    Contact,
    Reply,
    first_sentence,
    intent_for,
    path_reply,
    paths_answering,
    personal_reply,
    topic_label,
    topic_of,
)
from polkuopas.store import Professional, Store, iso, now_utc
from polkuopas_contract.personal_data import mask

log = logging.getLogger("polkuopas.actions")

# The intents a client can pick from "did you mean…?" buttons, and the name of
# each one's label in the message catalogue.
INTENT_LABELS = {
    "ask_responsible": "label_ask_responsible",
    "ask_contact": "label_ask_contact",
    "ask_current_step": "label_ask_current_step",
    "ask_next_step": "label_ask_next_step",
    "ask_path_overview": "label_ask_path_overview",
    "ask_role_definition": "label_ask_role_definition",
    "ask_follow_up": "label_ask_follow_up",
    "request_human": "label_request_human",
    "ask_next_meeting": "label_ask_next_meeting",
    "ask_my_goal": "label_ask_my_goal",
    "ask_my_actions": "label_ask_my_actions",
}
FALLBACK_INTENT = "nlu_fallback"
# The guesses the clarifying step fills up with when the ranking has fewer than
# two intents with a button (benchmarks/eval_nlu.py counts with the same).
OFFER_DEFAULTS = ("ask_responsible", "ask_path_overview")
# After "En osaa vastata tähän", the two nearest topics are offered and then
# the first of these that is not one of them.
OUT_OF_SCOPE_EXTRA = ("ask_path_overview", "ask_responsible")
# "None of these" on the clarifying buttons: counts as a second miss.
SOMETHING_ELSE_INTENT = "something_else"
# The slot that remembers an offer to have someone contact the client: the
# number of user messages when it was made. Only the very next message can
# accept it, so a later "kyllä" to something else never records a request.
CONTACT_OFFER_SLOT = "contact_offer"
# The same for an offer to remove the client's own path: only the very next
# message can say Kyllä to it, and only then is anything deleted.
REMOVE_OFFER_SLOT = "remove_offer"
# Who removed a client's own path, in the audit log: the client, in the chat.
CHAT_ACTOR = "asiakas (chat)"
# The answers to an offer of contact: (label in the catalogue, payload).
YES_NO = (("label_yes", "/affirm"), ("label_no", "/deny"))
# The answers to an offer of contact: yes with when the client is best reached
# (the entity `reachable`, shown in the worker's inbox), or no.
REACHABLE = ("aamupaiva", "iltapaiva", "milloin_vain")
CONTACT_ANSWERS = (
    ("label_yes_aamupaiva", '/affirm{"reachable":"aamupaiva"}'),
    ("label_yes_iltapaiva", '/affirm{"reachable":"iltapaiva"}'),
    ("label_yes_milloin_vain", '/affirm{"reachable":"milloin_vain"}'),
    ("label_no", "/deny"),
)
# The client's message kept with a contact request, masked, at most this long.
ASKED_TEXT_MAX = 300
# An answered message whose intent was below this is noted for the path
# owners' learning pages as answered with low confidence (the fallback
# threshold in bot/config.yml is 0.55, and 0.25 for out_of_scope: between the
# two, the assistant answered but was not sure).
LOW_CONFIDENCE = 0.8
UNANSWERED_TEXT_MAX = 500


def user_messages(tracker: Tracker) -> int:
    return sum(1 for e in tracker.events if e.get("event") == "user")


def offer_is_fresh(tracker: Tracker, slot: str) -> bool:
    """Was the offer in `slot` made just before this user message?"""
    offered = tracker.get_slot(slot)
    return isinstance(offered, int | float) and (
        user_messages(tracker) == int(offered) + 1
    )


def asked_before(tracker: Tracker, number: int) -> str | None:
    """The client's `number`th message (what led to the offer of contact),
    personal data masked; None for a button's payload."""
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    if not 0 < number <= len(texts) or texts[number - 1].startswith("/"):
        return None
    return mask(texts[number - 1]).text.strip()[:ASKED_TEXT_MAX] or None


def reachable(tracker: Tracker) -> str | None:
    """When the client said they are best reached (the yes button they chose)."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "reachable" and entity.get("value") in REACHABLE:
            return entity["value"]
    return None


@dataclass(frozen=True)
class Services:
    """What the actions use: the client store, the paths and the texts."""

    store: Store
    catalog: Catalog
    messages: Messages
    # How long the learning pages' notes are kept (POLKUOPAS_RETENTION_DAYS).
    retention_days: int = 90


@dataclass(frozen=True)
class Turn:
    """One user message as the actions see it."""

    identity: Identity
    view: ClientView | None
    roles: list[str]
    path_id: str | None


def payload(intent: str, **entities: str) -> str:
    """A button payload that triggers `intent` with the given entities."""
    if not entities:
        return f"/{intent}"
    inner = ",".join(f'"{k}":"{v}"' for k, v in entities.items())
    return f"/{intent}{{{inner}}}"


class PolkuopasAction(Action):
    NAME: ClassVar[str]

    def __init__(self, services: Services):
        self.services = services

    @property
    def catalog(self) -> Catalog:
        return self.services.catalog

    def name(self) -> str:
        return self.NAME

    def turn(self, tracker: Tracker) -> Turn:
        identity = identity_from_metadata(tracker.latest_message.get("metadata"))
        view = None
        if identity.known:
            view = load_view(self.services.store, self.catalog, identity.client_id)
            if view is None:
                identity = NO_IDENTITY
        path_id = next(tracker.get_latest_entity_values("path_id"), None)
        path_id = path_id or tracker.get_slot("path_id")
        if path_id not in self.catalog.paths:
            path_id = None
        return Turn(
            identity=identity,
            view=view,
            roles=list(tracker.get_latest_entity_values("role")),
            path_id=path_id,
        )

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        turn = self.turn(tracker)
        # DEBUG: a line per action call costs more than the action itself.
        log.debug(
            "action %s client=%s identity=%s",
            self.NAME,
            turn.identity.client_id or "-",
            turn.identity.status,
        )
        events = self.answer(dispatcher, turn, tracker) or []
        self.note_for_learning(tracker, turn)
        return events

    # --- notes for the path owners' learning pages ---------------------------

    def missed(self, tracker: Tracker) -> bool:
        """Was this message not understood (a fallback action says so)?"""
        return False

    def note_for_learning(self, tracker: Tracker, turn: Turn) -> None:
        """Keep a message the assistant did not understand, or answered with
        low confidence, for the path owners: its text masked, the path (from
        the client's identity, or the path asked about), the best two guesses.
        Never the client id; never the text in a log. A failure here loses the
        note, not the answer."""
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if not text.strip() or text.startswith("/") or not self.first_of_turn(tracker):
            return  # a button's payload, or noted by an earlier action already
        ranking = [
            (r["name"], float(r.get("confidence") or 0.0))
            for r in message.get("intent_ranking") or []
            if r.get("name") and r["name"] != FALLBACK_INTENT
        ][:2]
        confidence = (message.get("intent") or {}).get("confidence")
        if self.missed(tracker):
            kind = "fallback"
        elif isinstance(confidence, int | float) and confidence < LOW_CONFIDENCE:
            kind = "low_confidence"
        else:
            return
        path_id = turn.view.path.id if turn.view else turn.path_id
        store = self.services.store
        cutoff = now_utc() - timedelta(days=self.services.retention_days)
        try:
            with store.transaction():
                store.add_unanswered(
                    kind, mask(text).text[:UNANSWERED_TEXT_MAX], path_id, ranking
                )
                # Notes past the retention days go as new ones come.
                store.purge_unanswered(iso(cutoff))
        except Exception:
            log.warning("could not keep a learning note (%s)", self.NAME)

    @staticmethod
    def first_of_turn(tracker: Tracker) -> bool:
        """No other custom action has run for this user message yet."""
        for event in reversed(tracker.events):
            if event.get("event") == "user":
                return True
            name = event.get("name") or ""
            if (
                event.get("event") == "action"
                and name.startswith("action_")
                and name not in ("action_listen", "action_session_start")
            ):
                return False
        return True

    def answer(
        self, dispatcher: CollectingDispatcher, turn: Turn, tracker: Tracker
    ) -> list[EventType] | None:
        raise NotImplementedError

    # --- shared replies ---------------------------------------------------

    def say(
        self,
        dispatcher: CollectingDispatcher,
        message: str,
        /,
        buttons: list[dict[str, str]] | None = None,
        **values: Any,
    ) -> None:
        """Send `message` of messages_fi.yml with its values filled in."""
        dispatcher.utter_message(
            **self.services.messages.render(message, buttons=buttons, **values)
        )

    def label(self, intent: str | None) -> str | None:
        """The button label of an intent a client can pick, else None."""
        if intent in INTENT_LABELS:
            return self.services.messages.text(INTENT_LABELS[intent])
        topic = topic_of(intent)
        if topic and any(p.question(topic) for p in self.catalog.paths.values()):
            return topic_label(self.catalog, topic)
        return None

    def best_guesses(self, tracker: Tracker) -> list[str]:
        """The two best intents of the message's ranking that a client can
        pick, filled up with OFFER_DEFAULTS (benchmarks/eval_nlu.py's
        `offered_buttons` counts with the same)."""
        ranking = tracker.latest_message.get("intent_ranking") or []
        guesses = [r["name"] for r in ranking if self.label(r.get("name")) is not None]
        guesses = guesses[:2]
        for default in OFFER_DEFAULTS:
            if len(guesses) < 2 and default not in guesses:
                guesses.append(default)
        return guesses

    def buttons(self, intents: list[str]) -> list[dict[str, str]]:
        """A button per intent, with its label."""
        return [{"title": self.label(i), "payload": payload(i)} for i in intents]

    def yes_no(self, answers=YES_NO) -> list[dict[str, str]]:
        """Kyllä and Ei buttons, as the catalogue words them."""
        texts = self.services.messages
        return [{"title": texts.text(name), "payload": p} for name, p in answers]

    def explain_identity(self, dispatcher: CollectingDispatcher, turn: Turn) -> None:
        """Say why personal details cannot be shown, and how to get a link."""
        if turn.identity.lapsed:
            self.say(dispatcher, "identity_expired")
        else:
            self.say(dispatcher, "identity_missing")

    def roles_asked(
        self, dispatcher: CollectingDispatcher, turn: Turn, intent: str
    ) -> list[str] | None:
        """The roles a personal question is about ([] for none named), or None
        when the turn is answered already: no identity, or a role to clarify."""
        if turn.view is None:
            self.explain_identity(dispatcher, turn)
            return None
        choice = resolve_roles(turn.roles, self.catalog, turn.view)
        if choice.unclear:
            self.ask_which_role(dispatcher, intent, choice.options)
            return None
        return choice.roles

    def choose_path(self, dispatcher: CollectingDispatcher, intent: str) -> None:
        self.say(
            dispatcher,
            "choose_path",
            buttons=[
                # The service's name: the example client's name ("Suvin polku")
                # belongs to the orientation pages only.
                {"title": p.name, "payload": payload(intent, path_id=p.id)}
                for p in self.catalog.paths.values()
            ],
        )

    def ask_which_role(
        self, dispatcher: CollectingDispatcher, intent: str, options: tuple[str, ...]
    ) -> None:
        self.say(
            dispatcher,
            "ask_which_role",
            buttons=[
                {
                    "title": self.catalog.role(r).title,
                    "payload": payload(intent, role=r),
                }
                for r in options
            ],
        )

    def role_title(self, role: str) -> str:
        return self.catalog.role(role).title


class ActionGreet(PolkuopasAction):
    NAME = "action_greet"

    def answer(self, dispatcher, turn, tracker):
        if turn.view:
            self.say(dispatcher, "greet_personal", path_name=turn.view.path.name)
            return None
        self.say(dispatcher, "greet_general")
        if turn.identity.lapsed:
            self.say(dispatcher, "identity_expired")
        return None


class ActionOutOfScope(PolkuopasAction):
    """A question the service cannot answer: "En osaa vastata tähän", what the
    assistant can tell, and the two topics nearest to the question as buttons
    (the best two of the ranking a client can pick, as the clarifying step
    offers) with the whole path. A question the paths do answer but the
    model took for another service is then often one click from its answer.
    As an action, a guess of out_of_scope below LOW_CONFIDENCE is kept for
    the path owners' learning pages like any unsure answer."""

    NAME = "action_out_of_scope"

    def answer(self, dispatcher, turn, tracker):
        offered = self.best_guesses(tracker)
        offered += [i for i in OUT_OF_SCOPE_EXTRA if i not in offered][:1]
        self.say(dispatcher, "out_of_scope", buttons=self.buttons(offered))
        return None


class ActionResponsible(PolkuopasAction):
    NAME = "action_responsible"

    def answer(self, dispatcher, turn, tracker):
        roles = self.roles_asked(dispatcher, turn, "ask_responsible")
        if roles is None:
            return None
        if not roles:
            self.list_everyone(dispatcher, turn.view)
        for role in roles:
            self.tell_role(dispatcher, turn.view, role)
        return None

    def list_everyone(self, dispatcher, view: ClientView) -> None:
        lines = [
            f"• {self.role_title(role)}: {join_names(p.name for p in pros)}"
            for role in view.roles()
            if (pros := view.professionals(role))
        ]
        if not lines:
            self.say(dispatcher, "responsible_nobody")
            return
        self.say(dispatcher, "responsible_all", lines="\n".join(lines))

    def tell_role(self, dispatcher, view: ClientView, role: str) -> None:
        pros = view.professionals(role)
        title = self.role_title(role)
        if not pros:
            self.say(dispatcher, "responsible_missing", role_title=in_sentence(title))
        elif len(pros) == 1:
            self.say(
                dispatcher,
                "responsible_one",
                who=possessive(title),
                name=pros[0].name,
            )
        else:
            self.say(
                dispatcher,
                "responsible_pair",
                who=possessive(title),
                names=join_names(p.name for p in pros),
            )


class ActionContact(PolkuopasAction):
    NAME = "action_contact"

    def answer(self, dispatcher, turn, tracker):
        view = turn.view
        roles = self.roles_asked(dispatcher, turn, "ask_contact")
        if roles is None:
            return None
        if roles:
            targets = [(r, view.professionals(r)) for r in roles]
        else:
            main = main_contacts(view)
            if main is None:
                self.say(dispatcher, "responsible_nobody")
                return None
            targets = [main]
        for role, pros in targets:
            if not pros:
                self.say(
                    dispatcher,
                    "responsible_missing",
                    role_title=in_sentence(self.role_title(role)),
                )
                continue
            for pro in pros:
                self.say(
                    dispatcher,
                    "contact",
                    name=pro.name,
                    role_title=in_sentence(self.role_title(role)),
                    details=contact_lines(pro),
                )
            if len(pros) > 1:
                self.say(dispatcher, "contact_pair")
            else:
                subs = substitutes(view, role, pros[0])
                if subs:
                    self.say(
                        dispatcher,
                        "contact_substitute",
                        name=pros[0].name,
                        substitute=join_names(s.name for s in subs),
                    )
        return None


class ActionCurrentStep(PolkuopasAction):
    NAME = "action_current_step"

    def answer(self, dispatcher, turn, tracker):
        view = turn.view
        if view is None:
            self.explain_identity(dispatcher, turn)
            return None
        if view.client.ended:
            self.say(
                dispatcher,
                "current_step_ended",
                path_name=view.path.name,
                ended_on=finnish_date(view.client.ended_on),
            )
            return None
        step = view.step
        number, total = step_position(view.path, step.id)
        self.say(
            dispatcher,
            "current_step",
            number=number,
            total=total,
            title=step.title,
            description=step.description,
            client_does=step.client_does,
            responsible=responsible_text(self.catalog, step, view),
        )
        return None


class ActionNextStep(PolkuopasAction):
    NAME = "action_next_step"

    def answer(self, dispatcher, turn, tracker):
        view = turn.view
        if view is None:
            self.explain_identity(dispatcher, turn)
            return None
        step = view.step
        if view.client.ended or not step.next:
            rule = view.path.follow_up
            if not rule.applies_after(step.id):
                self.say(dispatcher, "next_step_end_no_follow_up")
                return None
            self.say(
                dispatcher,
                "next_step_end",
                window=follow_up_window(view.path),
                who=in_sentence(self.role_title(rule.role)),
            )
            return None
        if len(step.next) == 1:
            nxt = view.path.step(step.next[0].step)
            self.say(
                dispatcher,
                "next_step_one",
                title=nxt.title,
                description=nxt.description,
                responsible=responsible_text(self.catalog, nxt, view),
            )
            return None
        self.say(
            dispatcher,
            "next_step_branches",
            current=step.title,
            lines=branch_lines(view.path, step),
        )
        return None


class ActionPathOverview(PolkuopasAction):
    NAME = "action_path_overview"

    def answer(self, dispatcher, turn, tracker):
        view = turn.view
        if view is not None:
            self.show(dispatcher, view.path, view)
            return None
        if turn.identity.lapsed:
            self.say(dispatcher, "identity_expired")
        if turn.path_id is None:
            self.choose_path(dispatcher, "ask_path_overview")
            return None
        self.show(dispatcher, self.catalog.path(turn.path_id), None)
        return [SlotSet("path_id", turn.path_id)]

    def show(self, dispatcher, path: ServicePath, view: ClientView | None) -> None:
        self.say(
            dispatcher,
            "path_overview_personal" if view else "path_overview",
            path_name=path.name,
            short_name=path.short_name,
            lines=path_lines(self.catalog, path, view),
        )
        dispatcher.utter_message(json_message=path_payload(self.catalog, path, view))


class ActionRoleDefinition(PolkuopasAction):
    NAME = "action_role_definition"

    def answer(self, dispatcher, turn, tracker):
        view = turn.view
        choice = resolve_roles(turn.roles, self.catalog, view)
        roles = list(choice.roles)
        if choice.unclear:
            # "What does a valmentaja do?": explain the roles the word can mean.
            roles += [r for r in choice.options if r not in roles]
        if not roles:
            self.why_so_many(dispatcher, view)
        elif len(roles) == 1:
            self.define(dispatcher, roles[0], view)
        else:
            self.compare(dispatcher, roles[0], roles[1])
        return None

    def why_so_many(self, dispatcher, view: ClientView | None) -> None:
        if view:
            options = view.roles()
        else:
            options = ["tyohonvalmentaja", "tyovalmentaja", "omatyontekija"]
            options += ["sosiaaliohjaaja", "te_asiantuntija", "asiakasvastaava"]
        self.say(
            dispatcher,
            "role_why_many",
            buttons=[
                {
                    "title": self.role_title(r),
                    "payload": payload("ask_role_definition", role=r),
                }
                for r in options
                if r in self.catalog.roles
            ],
        )

    def define(self, dispatcher, role_id: str, view: ClientView | None) -> None:
        role = self.catalog.role(role_id)
        self.say(
            dispatcher,
            "role_definition",
            title=role.title,
            definition=role.definition,
            does="\n".join(f"• {d}" for d in role.does),
            does_not="\n".join(f"• {d}" for d in role.does_not),
        )
        pros = view.professionals(role_id) if view else []
        if pros:
            self.say(
                dispatcher,
                "responsible_one" if len(pros) == 1 else "responsible_pair",
                who=possessive(role.title),
                name=pros[0].name,
                names=join_names(p.name for p in pros),
            )

    def compare(self, dispatcher, first: str, second: str) -> None:
        a, b = self.catalog.role(first), self.catalog.role(second)
        difference = next(
            (c.difference for c in a.confused_with if c.role == second), None
        ) or next((c.difference for c in b.confused_with if c.role == first), None)
        self.say(
            dispatcher,
            "role_difference",
            title_a=a.title,
            title_b=b.title,
            title_b_in_sentence=in_sentence(b.title),
            definition_a=a.definition,
            definition_b=b.definition,
            difference=difference or "",
        )


class ActionFollowUp(PolkuopasAction):
    NAME = "action_follow_up"

    def answer(self, dispatcher, turn, tracker):
        view = turn.view
        if view is None:
            path = self.catalog.paths.get(turn.path_id or "")
            if path is None:
                self.say(dispatcher, "follow_up_general")
            else:
                self.rule(dispatcher, path, None)
            if turn.identity.lapsed:
                self.say(dispatcher, "identity_expired")
            return None
        followup = view.followup
        if followup is None:
            at_the_end = view.client.ended or not view.step.next
            if at_the_end and not view.path.follow_up.applies_after(view.step.id):
                self.say(dispatcher, "follow_up_not_after_step")
                return None
            self.rule(dispatcher, view.path, view)
            return None
        role = followup.role
        names = [p.name for p in view.professionals(role)]
        who = join_names(names) or in_sentence(self.role_title(role))
        if followup.done_at:
            self.say(
                dispatcher,
                "follow_up_done",
                who=who,
                done_on=finnish_date(followup.done_at[:10]),
            )
        else:
            self.say(
                dispatcher,
                "follow_up_scheduled",
                ended_on=finnish_date(view.client.ended_on or followup.due_on),
                who=who,
                due_on=finnish_date(followup.due_on),
                due_by=finnish_date(followup.due_by),
            )
        return None

    def rule(self, dispatcher, path: ServicePath, view: ClientView | None) -> None:
        rule = path.follow_up
        names = [p.name for p in view.professionals(rule.role)] if view else []
        self.say(
            dispatcher,
            "follow_up_rule",
            path_name=path.name,
            window=follow_up_window(path),
            who=join_names(names) or in_sentence(self.role_title(rule.role)),
            description=rule.description,
        )
        if rule.pilot:
            self.say(dispatcher, "follow_up_pilot")


class ActionRequestHuman(PolkuopasAction):
    """Offers contact with the client's own coordinator; records nothing until
    the client says yes (action_confirm_contact)."""

    NAME = "action_request_human"

    def answer(self, dispatcher, turn, tracker):
        view = turn.view
        if view is None:
            self.say(dispatcher, "human_general")
            if turn.identity.lapsed:
                self.say(dispatcher, "identity_expired")
            return None
        return self.offer_contact(dispatcher, view, tracker)

    def offer_contact(
        self,
        dispatcher: CollectingDispatcher,
        view: ClientView,
        tracker: Tracker,
        after_miss: bool = False,
    ) -> list[EventType]:
        main = main_contacts(view)
        pros: list[Professional] = main[1] if main else []
        buttons = self.yes_no(CONTACT_ANSWERS)
        if not pros:
            self.say(dispatcher, "human_confirm_nobody", buttons=buttons)
        else:
            # One person by name: the request is recorded for the first of a pair.
            pro = pros[0]
            self.say(
                dispatcher,
                "fallback_coordinator" if after_miss else "human_confirm",
                buttons=buttons,
                who=possessive(self.role_title(main[0])),
                name=pro.name,
            )
            if pro.hours:
                self.say(dispatcher, "human_reachable", name=pro.name, hours=pro.hours)
        return [SlotSet(CONTACT_OFFER_SLOT, user_messages(tracker))]


class ActionConfirmContact(ActionRequestHuman):
    """Kyllä or Ei to the offer just made: of contact (only now is a request
    recorded) or of removing the client's own path (only now is it deleted)."""

    NAME = "action_confirm_contact"

    def answer(self, dispatcher, turn, tracker):
        if offer_is_fresh(tracker, REMOVE_OFFER_SLOT):
            return self.confirm_removal(dispatcher, turn, tracker)
        events = self.confirm_contact(dispatcher, turn, tracker) or []
        if tracker.get_slot(REMOVE_OFFER_SLOT) is not None:
            events.append(SlotSet(REMOVE_OFFER_SLOT, None))
        return events

    def confirm_removal(self, dispatcher, turn, tracker) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        events: list[EventType] = [SlotSet(REMOVE_OFFER_SLOT, None)]
        if tracker.get_slot(CONTACT_OFFER_SLOT) is not None:
            events.append(SlotSet(CONTACT_OFFER_SLOT, None))
        if intent != "affirm":
            self.say(dispatcher, "remove_own_path_declined")
            return events
        if turn.view is None:
            self.explain_identity(dispatcher, turn)
            return events
        admin = Admin(self.services.store, self.catalog, CHAT_ACTOR)
        admin.remove_own_path(turn.view.client.id)
        self.say(dispatcher, "remove_own_path_done")
        return events

    def confirm_contact(self, dispatcher, turn, tracker) -> list[EventType] | None:
        offered = tracker.get_slot(CONTACT_OFFER_SLOT)
        fresh = offer_is_fresh(tracker, CONTACT_OFFER_SLOT)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not fresh:
            # A yes or no with no offer just before it: nothing to act on.
            self.say(dispatcher, "confirm_nothing")
            return [SlotSet(CONTACT_OFFER_SLOT, None)] if offered is not None else None
        if intent != "affirm":
            self.say(dispatcher, "human_declined")
            return [SlotSet(CONTACT_OFFER_SLOT, None)]
        view = turn.view
        if view is None:
            self.say(dispatcher, "human_general")
            return [SlotSet(CONTACT_OFFER_SLOT, None)]
        self.record(
            dispatcher, view, asked_before(tracker, int(offered)), reachable(tracker)
        )
        return [SlotSet(CONTACT_OFFER_SLOT, None)]

    def record(
        self,
        dispatcher: CollectingDispatcher,
        view: ClientView,
        asked: str | None = None,
        when: str | None = None,
    ) -> None:
        main = main_contacts(view)
        store = self.services.store
        role, pros = main if main else (None, [])
        with store.transaction():
            store.add_contact_request(
                view.client.id, role, pros[0].id if pros else None, asked, when
            )
        if not pros:
            self.say(dispatcher, "human_recorded_nobody")
            return
        for pro in pros:
            self.say(
                dispatcher,
                "contact",
                name=pro.name,
                role_title=in_sentence(self.role_title(role)),
                details=contact_lines(pro),
            )
        self.say(dispatcher, "human_recorded", name=pros[0].name)


class ActionFallback(ActionRequestHuman):
    """A message the assistant did not understand: first say what it guessed and
    offer the two best guesses and "something else" as buttons; after a second
    miss offer the client's own coordinator by name (asking before recording)."""

    NAME = "action_fallback"

    def missed(self, tracker: Tracker) -> bool:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return intent != SOMETHING_ELSE_INTENT

    def answer(self, dispatcher, turn, tracker):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == SOMETHING_ELSE_INTENT or self.missed_before(tracker):
            if turn.view is not None:
                return self.offer_contact(
                    dispatcher, turn.view, tracker, after_miss=True
                )
            self.say(
                dispatcher,
                "fallback_human",
                buttons=[
                    {
                        "title": self.label("request_human"),
                        "payload": payload("request_human"),
                    }
                ],
            )
            return None
        guesses = self.best_guesses(tracker)
        first, second = (self.label(g) for g in guesses)
        self.say(
            dispatcher,
            "ask_rephrase",
            first=first,
            second=second,
            buttons=[
                *self.buttons(guesses),
                {
                    "title": self.services.messages.text("label_something_else"),
                    "payload": payload(SOMETHING_ELSE_INTENT),
                },
            ],
        )
        return None

    @staticmethod
    def missed_before(tracker: Tracker) -> bool:
        """Was the user message before this one also not understood?"""
        user_events = [e for e in tracker.events if e.get("event") == "user"]
        if len(user_events) < 2:
            return False
        previous = user_events[-2].get("parse_data", {}).get("intent", {})
        return previous.get("name") in (FALLBACK_INTENT, SOMETHING_ELSE_INTENT)


class ActionServiceQuestion(PolkuopasAction):
    """A question about the service itself (money, hours, illness...): the
    answer from the client's own path, with their own professional named."""

    NAME = "action_service_question"

    def answer(self, dispatcher, turn, tracker):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        topic = topic_of(intent)
        if topic is None:
            self.say(dispatcher, "service_unknown")
            return None
        if turn.view is not None:
            reply = personal_reply(self.catalog, turn.view, topic)
            if reply is None:
                self.not_on_path(dispatcher, turn.view)
            else:
                self.tell(dispatcher, reply)
            return None
        if turn.identity.lapsed:
            self.say(dispatcher, "identity_expired")
        if turn.path_id is not None:
            reply = path_reply(self.catalog, self.catalog.path(turn.path_id), topic)
            if reply is None:
                self.say(
                    dispatcher,
                    "service_not_on_path_general",
                    path_name=self.catalog.path(turn.path_id).name,
                )
                return [SlotSet("path_id", turn.path_id)]
            self.tell(dispatcher, reply, with_path=True)
            return [SlotSet("path_id", turn.path_id)]
        paths = paths_answering(self.catalog, topic)
        if not paths:
            self.say(dispatcher, "service_unknown")
        elif len(paths) == 1:
            self.tell(dispatcher, path_reply(self.catalog, paths[0], topic), True)
        else:
            self.for_each_path(dispatcher, paths, topic)
        return None

    def tell(self, dispatcher, reply: Reply, with_path: bool = False) -> None:
        self.say(
            dispatcher,
            "service_answer_path" if with_path else "service_answer",
            answer=" ".join(reply.question.answer.split()),
            path_name=reply.path.name,
        )
        for contact in reply.contacts:
            self.more_from(dispatcher, contact)

    def more_from(self, dispatcher, contact: Contact) -> None:
        if contact.name is None:
            self.say(
                dispatcher,
                "service_more_role",
                role_title=in_sentence(contact.role_title),
            )
            return
        details = [f"Puhelin: {contact.phone}"] if contact.phone else []
        if contact.hours:
            details.append(f"Parhaiten tavoitat: {contact.hours}")
        self.say(
            dispatcher,
            "service_more_person",
            who=possessive(contact.role_title),
            name=contact.name,
            details="\n".join(details),
        )

    def not_on_path(self, dispatcher, view: ClientView) -> None:
        main = main_contacts(view)
        if main is None or not main[1]:
            self.say(dispatcher, "service_not_on_path", path_name=view.path.name)
            return
        role, pros = main
        self.say(
            dispatcher,
            "service_not_on_path_ask",
            path_name=view.path.name,
            who=possessive(self.role_title(role)),
            name=join_names(p.name for p in pros),
        )

    def for_each_path(self, dispatcher, paths: list[ServicePath], topic: str) -> None:
        lines = []
        for path in paths:
            question = path.question(topic)
            lines.append(f"• {path.name}: {first_sentence(question.answer)}")
        self.say(
            dispatcher,
            "service_answer_each",
            lines="\n".join(lines),
            buttons=[
                {
                    "title": p.name,
                    "payload": payload(intent_for(topic), path_id=p.id),
                }
                for p in paths
            ],
        )


class ActionOtherLanguage(PolkuopasAction):
    """A message in Swedish or English: the chat channel sends it as the intent
    other_language with the language. Answered in that language: the service
    speaks Finnish for now, and who can help (the client's own coordinator by
    name and number when known)."""

    NAME = "action_other_language"
    # By language: the answer without a known worker, with one, and the phone.
    MESSAGES: ClassVar[dict[str, tuple[str, str, str]]] = {
        "sv": (
            "other_language_sv",
            "other_language_sv_known",
            "other_language_phone_sv",
        ),
        "en": (
            "other_language_en",
            "other_language_en_known",
            "other_language_phone_en",
        ),
    }

    def answer(self, dispatcher, turn, tracker):
        lang = next(tracker.get_latest_entity_values("language"), None)
        general, known, phone = self.MESSAGES.get(lang, self.MESSAGES["en"])
        main = main_contacts(turn.view) if turn.view else None
        if not main:
            self.say(dispatcher, general)
            return None
        role, pros = main
        pro = pros[0]
        contact = (
            self.services.messages.text(phone, phone=pro.phone) if pro.phone else ""
        )
        self.say(
            dispatcher,
            known,
            name=pro.name,
            role=self.catalog.role(role).title_en,
            contact=contact,
        )
        return None


class OwnPathAction(PolkuopasAction):
    """A question about the client's own path or next meeting: only with the
    client's identity; `answer_own` gets what the worker wrote with them."""

    def answer(self, dispatcher, turn, tracker):
        if turn.view is None:
            self.explain_identity(dispatcher, turn)
            return None
        own = load_own_path(self.services.store, turn.view.client.id)
        return self.answer_own(dispatcher, own, tracker)

    def answer_own(self, dispatcher, own, tracker) -> list[EventType] | None:
        raise NotImplementedError


class ActionNextMeeting(OwnPathAction):
    """ "Milloin on seuraava tapaaminen?": the meeting the worker wrote down."""

    NAME = "action_next_meeting"

    def answer_own(self, dispatcher, own, tracker):
        meeting = own.meeting
        if meeting is None:
            self.say(dispatcher, "next_meeting_none")
        elif meeting_is_past(meeting):
            self.say(dispatcher, "next_meeting_past", when=meeting_when(meeting))
        else:
            self.say(
                dispatcher,
                "next_meeting",
                when=meeting_when(meeting),
                place=meeting.place,
                with_whom=meeting.with_whom,
            )
        return None


class ActionMyGoal(OwnPathAction):
    """ "Mikä on minun tavoitteeni?": the goals in the client's own words and
    what they want to try, as written with them."""

    NAME = "action_my_goal"

    def answer_own(self, dispatcher, own, tracker):
        if not own.goals and not own.tries:
            self.say(dispatcher, "my_goals_none")
            return None
        if own.goals:
            self.say(dispatcher, "my_goals", lines=item_lines(own.goals))
        if own.tries:
            self.say(dispatcher, "my_tries", lines=item_lines(own.tries))
        return None


class ActionMyActions(OwnPathAction):
    """ "Mitä minun pitää tehdä ennen sitä?": the agreed next actions with
    their dates, and the next meeting."""

    NAME = "action_my_actions"

    def answer_own(self, dispatcher, own, tracker):
        if not own.actions:
            self.say(dispatcher, "my_actions_none")
        else:
            self.say(dispatcher, "my_actions", lines=item_lines(own.actions))
        if own.meeting is not None and not meeting_is_past(own.meeting):
            self.say(dispatcher, "my_actions_meeting", when=meeting_when(own.meeting))
        return None


class ActionRemoveOwnPath(OwnPathAction):
    """The client asks to remove their own path: asks first (Kyllä / Ei);
    action_confirm_contact deletes only after Kyllä."""

    NAME = "action_remove_own_path"

    def answer_own(self, dispatcher, own, tracker):
        if not own.items:
            self.say(dispatcher, "remove_own_path_nothing")
            return None
        self.say(dispatcher, "remove_own_path_ask", buttons=self.yes_no())
        return [SlotSet(REMOVE_OFFER_SLOT, user_messages(tracker))]


ACTIONS: tuple[type[PolkuopasAction], ...] = (
    ActionGreet,
    ActionOutOfScope,
    ActionResponsible,
    ActionContact,
    ActionCurrentStep,
    ActionNextStep,
    ActionPathOverview,
    ActionRoleDefinition,
    ActionFollowUp,
    ActionRequestHuman,
    ActionConfirmContact,
    ActionFallback,
    ActionServiceQuestion,
    ActionOtherLanguage,
    ActionNextMeeting,
    ActionMyGoal,
    ActionMyActions,
    ActionRemoveOwnPath,
)
