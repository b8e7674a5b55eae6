"""The paths' figures (/tyotila/polut): how many clients in service are on
each step. Counts only, no client: a path owner sees this and no client page.

A path owner (polun_omistaja) sees only the paths an admin linked to their
account (`staff_paths`; `polkuopas staff paths`, or the staff pages); an admin
sees every path. `own_paths` and `visible_path` are the one check, used here
and by the learning pages (`polkuopas.web.staff.learning`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from polkuopas.catalog import Catalog, ServicePath
from polkuopas.store import StaffSession, Store
from polkuopas.web.api import CatalogDep, StoreDep
from polkuopas.web.staff.session import StaffDep, render

router = APIRouter()
SEES_FIGURES = ("polun_omistaja", "admin")


def own_paths(
    store: Store, catalog: Catalog, session: StaffSession
) -> list[ServicePath]:
    """The paths whose figures this staff member sees (403 for a worker)."""
    staff = session.staff
    if staff.role not in SEES_FIGURES:
        raise HTTPException(403, "not for this role")
    if staff.role == "admin":
        return list(catalog.paths.values())
    linked = set(store.staff_paths(staff.id))
    return [p for p in catalog.paths.values() if p.id in linked]


def visible_path(
    store: Store, catalog: Catalog, session: StaffSession, path_id: str
) -> ServicePath:
    """The path, when this staff member sees it; otherwise the same 404 as
    for an unknown id."""
    for path in own_paths(store, catalog, session):
        if path.id == path_id:
            return path
    raise HTTPException(404, "unknown path")


def step_figures(store: Store, paths: list[ServicePath]) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str], int] = {
        (r["path_id"], r["current_step"]): r["clients"] for r in store.step_counts()
    }
    figures = [
        {
            "path": path,
            "steps": [
                {"number": n, "step": s, "clients": counts.get((path.id, s.id), 0)}
                for n, s in enumerate(path.ordered_steps(), start=1)
            ],
        }
        for path in paths
    ]
    for item in figures:
        item["total"] = sum(s["clients"] for s in item["steps"])
    return figures


@router.get("/polut")
async def path_figures(
    request: Request, session: StaffDep, store: StoreDep, catalog: CatalogDep
):
    paths = step_figures(store, own_paths(store, catalog, session))
    return render(request, "tyotila/polut.html", session, active="polut", paths=paths)
