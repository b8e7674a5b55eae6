"""Service paths and roles as data: the schema, the loader and the checks.

`paths/roles.yml` is the role catalogue; every other `paths/*.yml` file is one
service path. Loading validates each file against the pydantic models below and
then the cross-file rules (role ids exist, next steps exist, every step is
reachable, no cycles). Every error names the file, the field and what was
expected, so `polkuopas paths check` can print it as one line.

Clients act on what a path says, so the facts they act on must be traceable:
sources and assumptions have ids; steps, the follow-up and the questions cite
them in `sources`. A text that states a money amount, a law number or a
deadline must cite a real source (an assumption is our own reading, not
enough), and a follow-up told as certain must not be a pilot and must cite a
source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

ROLES_FILE = "roles.yml"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
RoleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
StepId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
PathId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
SourceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
TopicId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]

# The question topics every path answers (issue 11). One NLU intent per topic
# answers from the client's own path, so the ids are shared by all paths; a
# path may add its own. The label is what a clarifying button says.
TOPICS: dict[str, str] = {
    "mika_palvelu": "Mikä palvelu on",
    "miten_paasee": "Miten palveluun pääsee",
    "raha": "Raha ja korvaukset",
    "matkakulut": "Matkakulut",
    "paivat_tunnit": "Päivät ja tunnit",
    "kesto": "Kuinka kauan palvelu kestää",
    "sairastuminen": "Sairastuminen ja poissaolot",
    "pakko": "Onko pakko osallistua",
    "lopettaminen": "Lopettaminen tai tauko",
    "etana": "Osallistuminen etänä",
    "suunnitelma": "Mitä suunnitelmaan tulee",
    "oikeudet": "Oikeudet ja velvollisuudet",
    "valitus": "Miten valitan",
    "ei_suju": "Jos palvelu ei suju",
    "jalkeen": "Mitä palvelun jälkeen",
    "suostumus": "Suostumus tietojen vaihtoon",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NextStep(_Strict):
    step: StepId
    when: Text | None = None


class Source(_Strict):
    """A document the path rests on; `checked` says when a web page was read."""

    id: SourceId
    title: Text
    url: Url | None = None
    checked: date | None = None

    @model_validator(mode="after")
    def _checked_with_url(self) -> Source:
        # A web page changes; the day it was read tells how old the fact is.
        if self.url and self.checked is None:
            raise ValueError(
                "a source with a url needs 'checked' (the day it was read)"
            )
        return self


class Assumption(_Strict):
    """Our own reading where the sources are silent."""

    id: SourceId
    text: Text


class Question(_Strict):
    """A question clients ask about the service, answered from this path."""

    id: TopicId
    ask: list[Text] = Field(min_length=4, max_length=10)
    answer: Text
    steps: list[StepId] = Field(default_factory=list)
    role: RoleId | None = None
    sources: list[SourceId] = Field(min_length=1)


class Step(_Strict):
    id: StepId
    title: Text
    description: Text
    client_does: Text
    responsible: list[RoleId] = Field(min_length=1)
    participants: list[RoleId] = Field(default_factory=list)
    duration: Text
    next: list[NextStep] = Field(default_factory=list)
    pilot: bool = False
    pilot_note: Text | None = None
    sources: list[SourceId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _pilot_and_branches(self) -> Step:
        if self.pilot and not self.pilot_note:
            raise ValueError("a pilot step needs a pilot_note")
        if not self.pilot and self.pilot_note:
            raise ValueError("pilot_note is only for steps with pilot: true")
        if len(self.next) > 1 and any(n.when is None for n in self.next):
            raise ValueError("every next step of a branch needs 'when'")
        return self

    @property
    def roles(self) -> list[str]:
        return [*self.responsible, *self.participants]


class FollowUp(_Strict):
    earliest_months: int = Field(ge=0, le=24)
    latest_months: int = Field(ge=0, le=24)
    role: RoleId
    pilot: bool = False
    description: Text
    sources: list[SourceId] = Field(default_factory=list)
    # The last steps after which it applies (empty: after any). A client who
    # ended elsewhere (sent to another service, say) is told of no follow-up.
    after_steps: list[StepId] = Field(default_factory=list)

    def applies_after(self, step_id: str) -> bool:
        return not self.after_steps or step_id in self.after_steps

    @model_validator(mode="after")
    def _window(self) -> FollowUp:
        if self.earliest_months > self.latest_months:
            raise ValueError("earliest_months must not be after latest_months")
        return self


class ServicePath(_Strict):
    id: PathId
    name: Text
    short_name: Text
    example_client: Text
    organisation: Text
    region: Text
    summary: Text
    sources: list[Source] = Field(min_length=1)
    assumptions: list[Assumption] = Field(default_factory=list)
    start: StepId
    follow_up: FollowUp
    steps: list[Step] = Field(min_length=1)
    questions: list[Question] = Field(default_factory=list)

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def has_step(self, step_id: str) -> bool:
        return any(step.id == step_id for step in self.steps)

    def next_steps(self, step_id: str) -> list[Step]:
        return [self.step(n.step) for n in self.step(step_id).next]

    def ordered_steps(self) -> list[Step]:
        """Steps in reading order: breadth first from the start, as drawn."""
        seen: dict[str, Step] = {}
        queue = [self.start]
        while queue:
            step = self.step(queue.pop(0))
            if step.id in seen:
                continue
            seen[step.id] = step
            queue.extend(n.step for n in step.next)
        return list(seen.values())

    def roles_used(self) -> set[str]:
        roles = {r for step in self.steps for r in step.roles}
        roles.add(self.follow_up.role)
        return roles

    def question(self, topic: str) -> Question | None:
        for question in self.questions:
            if question.id == topic:
                return question
        return None

    def cited(self, ids: list[str]) -> list[Source | Assumption]:
        """The sources and assumptions an item cites, in the order cited."""
        known = {item.id: item for item in [*self.sources, *self.assumptions]}
        return [known[i] for i in ids if i in known]


class ConfusedWith(_Strict):
    role: RoleId
    difference: Text


class Role(_Strict):
    id: RoleId
    title: Text
    title_en: Text
    definition: Text
    does: list[Text] = Field(min_length=1)
    does_not: list[Text] = Field(min_length=1)
    confused_with: list[ConfusedWith] = Field(default_factory=list)
    words: list[Text] = Field(min_length=1)


class AmbiguousWord(_Strict):
    word: RoleId
    roles: list[RoleId] = Field(min_length=2)
    forms: list[Text] = Field(min_length=1)


class RoleCatalogue(_Strict):
    roles: list[Role] = Field(min_length=1)
    ambiguous: list[AmbiguousWord] = Field(default_factory=list)


class PathFileError(ValueError):
    """A path or role file that cannot be used; names the file and the field."""

    def __init__(self, file: Path | str, field: str, message: str):
        self.file = str(file)
        self.field = field
        self.message = message
        where = f"{self.file}: {field}" if field else self.file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Catalog:
    """Everything in `paths/`: roles by id, ambiguous words and paths by id."""

    roles: dict[str, Role]
    ambiguous: dict[str, AmbiguousWord]
    paths: dict[str, ServicePath]

    def path(self, path_id: str) -> ServicePath:
        return self.paths[path_id]

    def role(self, role_id: str) -> Role:
        return self.roles[role_id]

    def paths_using_role(self, role_id: str) -> list[tuple[ServicePath, list[Step]]]:
        """The paths a role appears in, each with the steps it takes part in."""
        found = []
        for path in self.paths.values():
            steps = [s for s in path.ordered_steps() if role_id in s.roles]
            if steps or path.follow_up.role == role_id:
                found.append((path, steps))
        return found


# --- loading ---------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys instead of keeping the last."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        keys.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _read_yaml(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PathFileError(file, "", f"cannot read the file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise PathFileError(file, "", "the file is not UTF-8 text") from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PathFileError(file, line, f"invalid YAML: {problem}") from exc


def _field_path(loc: tuple[int | str, ...], data: Any) -> str:
    """Turn a pydantic location into `steps[2].next[0].step`, ids where known."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]" if parts else f"[{item}]"]
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


_FRIENDLY = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (not in the schema)",
}


def _validate(model: type[BaseModel], data: Any, file: Path) -> Any:
    if not isinstance(data, dict):
        raise PathFileError(file, "", "expected a mapping of fields at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        message = _FRIENDLY.get(error["type"], error["msg"])
        if error["type"] == "string_pattern_mismatch":
            pattern = error.get("ctx", {}).get("pattern", "")
            message = f"expected an id matching {pattern}, got {error['input']!r}"
        field = _field_path(tuple(error["loc"]), data) or "(top level)"
        raise PathFileError(file, field, message) from exc


def _first_duplicate(items: list[str]) -> int | None:
    """Index of the first item that already appeared earlier, or None."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item in seen:
            return index
        seen.add(item)
    return None


def load_roles(file: Path) -> RoleCatalogue:
    catalogue: RoleCatalogue = _validate(RoleCatalogue, _read_yaml(file), file)
    ids = [r.id for r in catalogue.roles]
    if (dup := _first_duplicate(ids)) is not None:
        raise PathFileError(file, f"roles[{dup}].id", f"duplicate id {ids[dup]!r}")
    for i, amb in enumerate(catalogue.ambiguous):
        if amb.word in ids:
            raise PathFileError(
                file, f"ambiguous[{i}].word", f"{amb.word!r} is also a role id"
            )
        for role in amb.roles:
            if role not in ids:
                raise PathFileError(
                    file, f"ambiguous[{i}].roles", f"unknown role id {role!r}"
                )
    owner: dict[str, str] = {}
    for where, forms in _word_owners(catalogue):
        for form in forms:
            key = form.lower()
            if key in owner and owner[key] != where:
                raise PathFileError(
                    file, where, f"word {form!r} is already listed under {owner[key]}"
                )
            owner[key] = where
    for i, role in enumerate(catalogue.roles):
        for j, other in enumerate(role.confused_with):
            if other.role not in ids:
                raise PathFileError(
                    file,
                    f"roles[{i}].confused_with[{j}].role",
                    f"unknown role id {other.role!r}",
                )
    return catalogue


def _word_owners(catalogue: RoleCatalogue) -> Iterator[tuple[str, list[str]]]:
    for i, role in enumerate(catalogue.roles):
        yield f"roles[{i}].words ({role.id})", role.words
    for i, amb in enumerate(catalogue.ambiguous):
        yield f"ambiguous[{i}].forms ({amb.word})", amb.forms


def load_path(file: Path, role_ids: set[str]) -> ServicePath:
    data = _read_yaml(file)
    path: ServicePath = _validate(ServicePath, data, file)
    if path.id != file.stem:
        raise PathFileError(
            file, "id", f"must equal the file name {file.stem!r}, got {path.id!r}"
        )
    step_ids = [s.id for s in path.steps]
    if (dup := _first_duplicate(step_ids)) is not None:
        raise PathFileError(file, f"steps[{dup}].id", f"duplicate id {step_ids[dup]!r}")
    known = ", ".join(step_ids)
    if path.start not in step_ids:
        raise PathFileError(
            file, "start", f"unknown step {path.start!r} (steps: {known})"
        )
    for i, step in enumerate(path.steps):
        for field in ("responsible", "participants"):
            for j, role in enumerate(getattr(step, field)):
                if role not in role_ids:
                    raise PathFileError(
                        file,
                        f"steps[{i}].{field}[{j}]",
                        f"unknown role id {role!r} (not in {ROLES_FILE})",
                    )
        for j, nxt in enumerate(step.next):
            if nxt.step not in step_ids:
                raise PathFileError(
                    file,
                    f"steps[{i}].next[{j}].step",
                    f"unknown step {nxt.step!r} (steps: {known})",
                )
    if path.follow_up.role not in role_ids:
        raise PathFileError(
            file,
            "follow_up.role",
            f"unknown role id {path.follow_up.role!r} (not in {ROLES_FILE})",
        )
    _check_graph(path, file)
    _check_sources(path, file)
    _check_questions(path, file, role_ids)
    _check_facts(path, file)
    _check_follow_up(path, file)
    return path


# --- sources, questions and facts ------------------------------------------

# What a client may act on: a sum of money, a law, a deadline. The patterns are
# deliberately simple; a false alarm costs one `sources` entry.
_FACTS = (
    ("money amount", re.compile(r"€|\beuro\w*", re.IGNORECASE)),
    ("law number", re.compile(r"\b\d{1,4}/(?:19|20)\d{2}\b")),
    (
        "deadline",
        re.compile(
            r"\b\d+\s*(?:vuorokauden|arkipäivän|päivän)\b"
            r"|\b\d+\s*(?:viikon|kuukauden)\s+(?:kuluessa|sisällä)\b",
            re.IGNORECASE,
        ),
    ),
)
# A follow-up told with one of these words is a possibility, not a promise.
_HEDGE = re.compile(
    r"\b(?:voi|voivat|voidaan|voisi|voisivat|saattaa|saattavat|saatetaan|ehkä"
    r"|mahdollisesti)\b",
    re.IGNORECASE,
)


def _fact_in(text: str | None) -> tuple[str, str] | None:
    """The first money amount, law number or deadline in a text, if any."""
    for kind, pattern in _FACTS:
        if text and (found := pattern.search(text)):
            return kind, found.group(0).strip()
    return None


def _check_sources(path: ServicePath, file: Path) -> None:
    ids = [
        *(f"sources[{i}]" for i in range(len(path.sources))),
        *(f"assumptions[{i}]" for i in range(len(path.assumptions))),
    ]
    values = [item.id for item in [*path.sources, *path.assumptions]]
    if (dup := _first_duplicate(values)) is not None:
        raise PathFileError(
            file,
            f"{ids[dup]}.id",
            f"duplicate id {values[dup]!r} (source and assumption ids share one list)",
        )
    known = set(values)
    citing = [(f"steps[{i}].sources", s.sources) for i, s in enumerate(path.steps)]
    citing.append(("follow_up.sources", path.follow_up.sources))
    citing += [
        (f"questions[{i}].sources", q.sources) for i, q in enumerate(path.questions)
    ]
    for field, cited in citing:
        for j, source_id in enumerate(cited):
            if source_id not in known:
                raise PathFileError(
                    file,
                    f"{field}[{j}]",
                    f"unknown source id {source_id!r} "
                    f"(sources and assumptions: {', '.join(values)})",
                )


def _check_questions(path: ServicePath, file: Path, role_ids: set[str]) -> None:
    topics = [q.id for q in path.questions]
    if (dup := _first_duplicate(topics)) is not None:
        raise PathFileError(
            file, f"questions[{dup}].id", f"duplicate id {topics[dup]!r}"
        )
    step_ids = [s.id for s in path.steps]
    for i, question in enumerate(path.questions):
        for j, step_id in enumerate(question.steps):
            if step_id not in step_ids:
                raise PathFileError(
                    file,
                    f"questions[{i}].steps[{j}]",
                    f"unknown step {step_id!r} (steps: {', '.join(step_ids)})",
                )
        if question.role is not None and question.role not in role_ids:
            raise PathFileError(
                file,
                f"questions[{i}].role",
                f"unknown role id {question.role!r} (not in {ROLES_FILE})",
            )
        phrasings = [_phrasing_key(a) for a in question.ask]
        if (dup := _first_duplicate(phrasings)) is not None:
            raise PathFileError(
                file,
                f"questions[{i}].ask[{dup}]",
                f"the same phrasing twice: {question.ask[dup]!r}",
            )


def _check_facts(path: ServicePath, file: Path) -> None:
    real = {source.id for source in path.sources}
    for i, assumption in enumerate(path.assumptions):
        if found := _fact_in(assumption.text):
            kind, text = found
            raise PathFileError(
                file,
                f"assumptions[{i}].text",
                f"states a {kind} ({text!r}), which must come from a source: "
                "say it in a step, follow_up or question that cites one",
            )
    for field in ("name", "short_name", "summary", "organisation", "region"):
        if found := _fact_in(getattr(path, field)):
            kind, text = found
            raise PathFileError(
                file,
                field,
                f"states a {kind} ({text!r}) that cannot cite a source here: "
                "say it in a step, follow_up or question with `sources`",
            )
    for item, where, texts in _cited_texts(path):
        for field, text in texts:
            found = _fact_in(text)
            if found and not real.intersection(item):
                kind, value = found
                raise PathFileError(
                    file,
                    f"{where}.{field}",
                    f"states a {kind} ({value!r}), so {where}.sources must name "
                    "a source (an assumption alone is not enough)",
                )


def _cited_texts(
    path: ServicePath,
) -> Iterator[tuple[list[str], str, list[tuple[str, str | None]]]]:
    """Each item that can cite sources: its ids, its name and its texts."""
    for i, step in enumerate(path.steps):
        texts = [
            (f, getattr(step, f))
            for f in ("title", "description", "client_does", "duration", "pilot_note")
        ]
        texts += [(f"next[{j}].when", n.when) for j, n in enumerate(step.next)]
        yield step.sources, f"steps[{i}]", texts
    yield (
        path.follow_up.sources,
        "follow_up",
        [("description", path.follow_up.description)],
    )
    for i, question in enumerate(path.questions):
        yield question.sources, f"questions[{i}]", [("answer", question.answer)]


def _check_follow_up(path: ServicePath, file: Path) -> None:
    rule = path.follow_up
    for i, step_id in enumerate(rule.after_steps):
        if not path.has_step(step_id):
            raise PathFileError(
                file, f"follow_up.after_steps[{i}]", f"unknown step id {step_id!r}"
            )
    if _HEDGE.search(rule.description):
        return
    real = {source.id for source in path.sources}
    if rule.pilot or not real.intersection(rule.sources):
        # A client waits for a call that is promised; only a service that is
        # established practice, with a source that says so, may promise it.
        raise PathFileError(
            file,
            "follow_up.description",
            "tells the contact as certain (no 'voi' or 'saattaa'), so the "
            "follow-up needs pilot: false and a source in follow_up.sources; "
            "or say that it may happen ('voi ottaa yhteyttä')",
        )


def _phrasing_key(text: str) -> str:
    """A question phrasing as the NLU sees it: case, ä/ö and punctuation aside."""
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())


def _check_graph(path: ServicePath, file: Path) -> None:
    index = {s.id: i for i, s in enumerate(path.steps)}
    edges = {s.id: [n.step for n in s.next] for s in path.steps}
    # Iterative depth-first search with colours finds cycles and reachability.
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[tuple[str, Iterator[str]]] = [(path.start, iter(edges[path.start]))]
    state[path.start] = 1
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            state[node] = 2
            stack.pop()
        elif state.get(child) == 1:
            raise PathFileError(
                file,
                f"steps[{index[node]}].next",
                f"step {node!r} leads back to {child!r}: a path must not loop "
                "(describe repetition in the text)",
            )
        elif child not in state:
            state[child] = 1
            stack.append((child, iter(edges[child])))
    for step in path.steps:
        if step.id not in state:
            raise PathFileError(
                file,
                f"steps[{index[step.id]}].id",
                f"step {step.id!r} cannot be reached from start {path.start!r}",
            )


def path_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yml") if p.name != ROLES_FILE)


def load_catalog(directory: Path) -> Catalog:
    """Load and check `roles.yml` and every path file; raise on the first error."""
    directory = Path(directory)
    roles_file = directory / ROLES_FILE
    if not roles_file.is_file():
        raise PathFileError(roles_file, "", "the role catalogue is missing")
    catalogue = load_roles(roles_file)
    role_ids = {r.id for r in catalogue.roles}
    paths: dict[str, ServicePath] = {}
    # One phrasing trains one topic's intent, so it must not ask two topics.
    phrasings: dict[str, tuple[str, str]] = {}
    for file in path_files(directory):
        path = load_path(file, role_ids)
        paths[path.id] = path
        for i, question in enumerate(path.questions):
            for j, ask in enumerate(question.ask):
                key = _phrasing_key(ask)
                topic, where = phrasings.setdefault(key, (question.id, file.name))
                if topic != question.id:
                    raise PathFileError(
                        file,
                        f"questions[{i}].ask[{j}]",
                        f"{ask!r} is already a phrasing of topic {topic!r} "
                        f"in {where}: one phrasing, one topic",
                    )
    if not paths:
        raise PathFileError(directory, "", "no service path files (*.yml) found")
    return Catalog(
        roles={r.id: r for r in catalogue.roles},
        ambiguous={a.word: a for a in catalogue.ambiguous},
        paths=paths,
    )


def fold(text: str) -> str:
    """Lowercase and drop Finnish diacritics: how clients type without ä and ö."""
    return text.lower().replace("ä", "a").replace("ö", "o").replace("å", "a")
