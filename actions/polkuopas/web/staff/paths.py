"""The paths' figures (/tyotila/polut): how many clients in service are on
each step. Counts only, no client: a path owner sees this and no client page.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from polkuopas.web.api import CatalogDep, StoreDep
from polkuopas.web.staff.session import StaffDep, render

router = APIRouter()
SEES_FIGURES = ("polun_omistaja", "admin")


@router.get("/polut")
async def path_figures(
    request: Request, session: StaffDep, store: StoreDep, catalog: CatalogDep
):
    if session.staff.role not in SEES_FIGURES:
        raise HTTPException(403, "not for this role")
    counts: dict[tuple[str, str], int] = {
        (r["path_id"], r["current_step"]): r["clients"] for r in store.step_counts()
    }
    paths = [
        {
            "path": path,
            "steps": [
                {"number": n, "step": s, "clients": counts.get((path.id, s.id), 0)}
                for n, s in enumerate(path.ordered_steps(), start=1)
            ],
        }
        for path in catalog.paths.values()
    ]
    for item in paths:
        item["total"] = sum(s["clients"] for s in item["steps"])
    return render(request, "tyotila/polut.html", session, active="polut", paths=paths)
