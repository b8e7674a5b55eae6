"""The custom actions of the assistant, as rasa_sdk `Action` classes.

Each action works out who is asking (the identity the input channel attached to
the message), loads that client's `ClientView` and picks messages
(`messages_fi.yml` holds every Finnish text) with the values filled in. The
logic lives in `polkuopas.answers`; these classes only choose what to say.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from polkuopas.answers import (
    ClientView,
    Identity,
    branch_lines,
    contact_lines,
    finnish_date,
    follow_up_window,
    identity_from_metadata,
    in_sentence,
    join_names,
    load_view,
    main_contacts,
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
from polkuopas.store import Store

log = logging.getLogger("polkuopas.actions")

# Button labels for "did you mean…?", by intent (the intents a client can pick).
INTENT_LABELS = {
    "ask_responsible": "Kuka on minun työntekijäni?",
    "ask_contact": "Miten tavoitan työntekijäni?",
    "ask_current_step": "Missä vaiheessa olen?",
    "ask_next_step": "Mitä tapahtuu seuraavaksi?",
    "ask_path_overview": "Näytä koko polku",
    "ask_role_definition": "Mitä eri ammattilaiset tekevät?",
    "ask_follow_up": "Otetaanko minuun yhteyttä palvelun jälkeen?",
    "request_human": "Haluan jutella ihmisen kanssa",
}
FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Services:
    """What the actions use: the client store, the paths and the texts."""

    store: Store
    catalog: Catalog
    messages: Messages


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
                identity = Identity("none")
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
        return self.answer(dispatcher, turn, tracker) or []

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
    NAME = "action_request_human"

    def answer(self, dispatcher, turn, tracker):
        view = turn.view
        if view is None:
            self.say(dispatcher, "human_general")
            if turn.identity.lapsed:
                self.say(dispatcher, "identity_expired")
            return None
        main = main_contacts(view)
        store = self.services.store
        role, pros = main if main else (None, [])
        with store.transaction():
            store.add_contact_request(
                view.client.id, role, pros[0].id if pros else None
            )
        if not pros:
            self.say(dispatcher, "human_recorded_nobody")
            return None
        for pro in pros:
            self.say(
                dispatcher,
                "contact",
                name=pro.name,
                role_title=in_sentence(self.role_title(role)),
                details=contact_lines(pro),
            )
        self.say(dispatcher, "human_recorded", name=pros[0].name)
        return None


class ActionFallback(PolkuopasAction):
    """A message the assistant did not understand: first ask again with the two
    best guesses as buttons, and after a second miss offer a person."""

    NAME = "action_fallback"

    def answer(self, dispatcher, turn, tracker):
        if self.missed_before(tracker):
            self.say(
                dispatcher,
                "fallback_human",
                buttons=[
                    {
                        "title": INTENT_LABELS["request_human"],
                        "payload": payload("request_human"),
                    }
                ],
            )
            return None
        ranking = tracker.latest_message.get("intent_ranking") or []
        guesses = [r["name"] for r in ranking if r.get("name") in INTENT_LABELS][:2]
        for default in ("ask_responsible", "ask_path_overview"):
            if len(guesses) < 2 and default not in guesses:
                guesses.append(default)
        self.say(
            dispatcher,
            "ask_rephrase",
            buttons=[
                {"title": INTENT_LABELS[g], "payload": payload(g)} for g in guesses
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
        return previous.get("name") == FALLBACK_INTENT


ACTIONS: tuple[type[PolkuopasAction], ...] = (
    ActionGreet,
    ActionResponsible,
    ActionContact,
    ActionCurrentStep,
    ActionNextStep,
    ActionPathOverview,
    ActionRoleDefinition,
    ActionFollowUp,
    ActionRequestHuman,
    ActionFallback,
)
