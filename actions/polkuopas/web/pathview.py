"""What the pages show about paths and roles, worked out from `paths/`.

`path_model` mirrors `pathModel` in web-widget/src/path-picture.js: the server
renders /polut/<id> from it with the same structure and CSS as the widget's
picture (a browser test compares the two).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from polkuopas.catalog import Catalog, Role, ServicePath


def path_model(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Per step: is it an alternative (reached only through a choice), the
    options of its branch, a next step that is not drawn right below it, or the
    end of the path on a branch that stops there."""
    steps = payload["steps"]
    by_id = {s["id"]: s for s in steps}
    incoming: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        for nxt in step["next"]:
            incoming.setdefault(nxt["step"], []).append(nxt)
    model = []
    for index, step in enumerate(steps):
        into = incoming.get(step["id"], [])
        nexts = [n for n in step["next"] if n["step"] in by_id]
        following = steps[index + 1] if index + 1 < len(steps) else None
        target = by_id[nexts[0]["step"]] if len(nexts) == 1 else None
        model.append(
            {
                "step": step,
                "alternative": bool(into) and all(n.get("when") for n in into),
                "branch": [
                    {
                        "number": by_id[n["step"]]["number"],
                        "title": by_id[n["step"]]["title"],
                        "when": n.get("when") or "",
                    }
                    for n in nexts
                ]
                if len(nexts) > 1
                else [],
                "next_far": {"number": target["number"], "title": target["title"]}
                if target and (following is None or following["id"] != target["id"])
                else None,
                "ends_here": not nexts and index < len(steps) - 1,
            }
        )
    return model


def fmt(template: str, **values: Any) -> str:
    """`{name}` placeholders, as the widget's `fmt` fills them."""
    return re.sub(
        r"\{(\w+)\}",
        lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0),
        template,
    )


def finnish_date(value: str | None) -> str:
    if not value:
        return ""
    day = date.fromisoformat(value[:10])
    return f"{day.day}.{day.month}.{day.year}"


def join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " ja " + names[-1]


# --- the role page -------------------------------------------------------------


@dataclass(frozen=True)
class RoleStep:
    number: int
    step_id: str
    title: str
    responsible: bool


@dataclass(frozen=True)
class RoleOnPath:
    path: ServicePath
    steps: list[RoleStep]
    follow_up: bool


def role_paths(catalog: Catalog, role_id: str) -> list[RoleOnPath]:
    found = []
    for path, steps in catalog.paths_using_role(role_id):
        numbers = {s.id: n for n, s in enumerate(path.ordered_steps(), start=1)}
        found.append(
            RoleOnPath(
                path=path,
                steps=[
                    RoleStep(numbers[s.id], s.id, s.title, role_id in s.responsible)
                    for s in steps
                ],
                follow_up=path.follow_up.role == role_id,
            )
        )
    return found


def role_search_text(role: Role) -> str:
    """Everything a search for the role may match, lower-cased."""
    parts = [
        role.id,
        role.title,
        role.title_en,
        role.definition,
        *role.does,
        *role.does_not,
        *role.words,
        *(c.difference for c in role.confused_with),
    ]
    return " ".join(parts).casefold()


def matches(text: str, query: str) -> bool:
    """Every word of the query appears in the text (case-insensitive)."""
    return all(word in text for word in query.casefold().split())
