"""Questions clients ask about a service, answered from the path files.

Every path file has `questions`, each under a topic id shared by all paths
(`catalog.TOPICS`). One NLU intent per topic (`service_<topic>`) recognises the
question; the answer comes from the client's own path, so the same words get
Suvi's answer on Suvi's path and Valtteri's on his. These functions are pure:
the action in `bot_actions.py` only renders what they return.
"""

from __future__ import annotations

from dataclasses import dataclass

from polkuopas.answers import ClientView
from polkuopas.catalog import TOPICS, Catalog, Question, ServicePath
from polkuopas.store import Professional

INTENT_PREFIX = "service_"


def intent_for(topic: str) -> str:
    """The NLU intent that asks about `topic`: `raha` -> `service_raha`."""
    return INTENT_PREFIX + topic


def topic_of(intent: str | None) -> str | None:
    """The topic an intent asks about, or None for any other intent."""
    if intent and intent.startswith(INTENT_PREFIX):
        return intent.removeprefix(INTENT_PREFIX) or None
    return None


def topics(catalog: Catalog) -> list[str]:
    """Every topic some path answers: the shared ones first, then the paths' own."""
    asked = {q.id for path in catalog.paths.values() for q in path.questions}
    extra = sorted(asked - TOPICS.keys())
    return [t for t in TOPICS if t in asked] + extra


def topic_label(catalog: Catalog, topic: str) -> str:
    """A button label for a topic: the shared label, or the first phrasing."""
    if topic in TOPICS:
        return TOPICS[topic]
    for path in catalog.paths.values():
        if question := path.question(topic):
            return question.ask[0]
    return topic


@dataclass(frozen=True)
class Contact:
    """Who can tell more: a person by name, or only the role's title."""

    role_title: str
    name: str | None = None
    phone: str | None = None
    hours: str | None = None


@dataclass(frozen=True)
class Reply:
    """The answer to one question on one path."""

    path: ServicePath
    question: Question
    contacts: tuple[Contact, ...]


def _contacts(
    catalog: Catalog, question: Question, view: ClientView | None
) -> tuple[Contact, ...]:
    if question.role is None or question.role not in catalog.roles:
        return ()
    title = catalog.role(question.role).title
    pros: list[Professional] = view.professionals(question.role) if view else []
    if not pros:
        return (Contact(title),)
    return tuple(Contact(title, p.name, p.phone, p.hours) for p in pros)


def personal_reply(catalog: Catalog, view: ClientView, topic: str) -> Reply | None:
    """The answer from the client's own path, with their own professional named;
    None when their path does not answer this topic."""
    question = view.path.question(topic)
    if question is None:
        return None
    return Reply(view.path, question, _contacts(catalog, question, view))


def path_reply(catalog: Catalog, path: ServicePath, topic: str) -> Reply | None:
    """The general answer on one path (no client): the role by its title."""
    question = path.question(topic)
    if question is None:
        return None
    return Reply(path, question, _contacts(catalog, question, None))


def paths_answering(catalog: Catalog, topic: str) -> list[ServicePath]:
    """The paths that answer a topic, in the catalogue's order."""
    return [p for p in catalog.paths.values() if p.question(topic)]


def first_sentence(text: str) -> str:
    """The first sentence of an answer: the brief form used for every path."""
    text = " ".join(text.split())
    for end in (". ", "? ", "! "):
        cut = text.find(end)
        if cut != -1:
            return text[: cut + 1]
    return text
