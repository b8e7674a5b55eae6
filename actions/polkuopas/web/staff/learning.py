"""Learning from the conversations (/tyotila/oppiminen/{path_id}), for the
path's owner and an admin: the questions the assistant did not understand or
answered with low confidence (as the action server recorded them, personal
data masked, no client id), the answers clients marked unhelpful with their
comments, feedback by topic, and how many clients are on each step. Texts and
counts only: nothing on these pages leads to a person.

The texts are masked when they are recorded; they are masked once more here
(`polkuopas_contract.personal_data.mask`, the chat channel's guard), so a text
from before a new pattern was added is not shown raw either.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from polkuopas.questions import topic_label
from polkuopas.web.api import CatalogDep, StoreDep
from polkuopas.web.staff.paths import own_paths, step_figures, visible_path
from polkuopas.web.staff.session import PREFIX, StaffDep, render
from polkuopas_contract.personal_data import mask

router = APIRouter()
KIND_TITLES = {"fallback": "Ei ymmärretty", "low_confidence": "Epävarma vastaus"}


def masked(text: str | None) -> str:
    return mask(text).text if text else ""


@router.get("/oppiminen")
async def learning_home(
    request: Request, session: StaffDep, store: StoreDep, catalog: CatalogDep
):
    paths = own_paths(store, catalog, session)
    if len(paths) == 1:
        return RedirectResponse(f"{PREFIX}/oppiminen/{paths[0].id}", status_code=303)
    return render(
        request, "tyotila/oppiminen.html", session, active="oppiminen", paths=paths,
        path=None,
    )  # fmt: skip


@router.get("/oppiminen/{path_id}")
async def learning(
    path_id: str,
    request: Request,
    session: StaffDep,
    store: StoreDep,
    catalog: CatalogDep,
):
    path = visible_path(store, catalog, session, path_id)

    def label(topic: str | None) -> str:
        if not topic:
            return "–"
        try:
            return topic_label(catalog, topic)
        except (KeyError, ValueError):
            return topic

    questions = [
        {
            **row,
            "text": masked(row["text"]),
            "kind_title": KIND_TITLES.get(row["kind"], row["kind"]),
            "confidence": round(row["confidence"] * 100)
            if row["confidence"] is not None
            else None,
        }
        for row in store.unanswered_summary(path.id)
    ]
    feedback = [
        {**row, "label": label(row["topic"])} for row in store.feedback_by_path(path.id)
    ]
    comments = [
        {**row, "comment": masked(row["comment"]), "label": label(row["topic"])}
        for row in store.unhelpful_comments(path.id)
    ]
    return render(
        request,
        "tyotila/oppiminen.html",
        session,
        active="oppiminen",
        paths=own_paths(store, catalog, session),
        path=path,
        figures=step_figures(store, [path])[0],
        questions=questions,
        feedback=feedback,
        comments=comments,
    )
