"""The professionals' workspace at /tyotila: server-rendered pages, one
router per area (sign-in, clients, the next meeting and the client's own
path, contact requests, path figures, the admin pages for staff and
professionals, the path owners' learning pages, single sign-on), the signed-in
staff member resolved once (`StaffDep`), CSRF on every form."""

from fastapi import APIRouter

from polkuopas.web.staff import admin, auth, clients, inbox, learning, oidc, paths, plan
from polkuopas.web.staff.auth import SignInLimits
from polkuopas.web.staff.session import PREFIX, SignInRequired, StaffDep

router = APIRouter()
for area in (auth, clients, plan, inbox, paths, admin, learning, oidc):
    router.include_router(area.router, prefix=PREFIX)

__all__ = ["SignInLimits", "SignInRequired", "StaffDep", "router"]
