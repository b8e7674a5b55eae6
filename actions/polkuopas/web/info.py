"""What a public service owes its users, as pages: what Polkuopas is
(/tietoa), the privacy notice (/tietosuoja, GDPR art. 13) and the
accessibility statement (/saavutettavuus, act 306/2019). The county's details
come from settings (POLKUOPAS_COUNTY_*); the widget links to all three."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from polkuopas.settings import PROJECT_ROOT
from polkuopas.web.api import SettingsDep
from polkuopas.web.pages import AssetsDep, render, widget_urls

router = APIRouter()

# The day the texts below were last checked against the service and the law.
CHECKED = "2.12.2026"


def info_page(request: Request, settings, assets, template: str) -> HTMLResponse:
    """One of the three pages, with the county's details and the check date."""
    return render(
        request,
        template,
        widget=widget_urls(request, assets),
        settings=settings,
        checked=CHECKED,
    )


@router.get("/tietoa", response_class=HTMLResponse)
async def about_page(request: Request, settings: SettingsDep, assets: AssetsDep):
    return info_page(request, settings, assets, "tietoa.html")


@router.get("/tietoa/nlu.md", response_class=PlainTextResponse)
async def nlu_report() -> PlainTextResponse:
    """The NLU evaluation report as it stands in reports/ (make eval-nlu)."""
    report = PROJECT_ROOT / "reports" / "nlu.md"
    if not report.is_file():
        raise HTTPException(404, "no report in this installation")
    return PlainTextResponse(
        report.read_text(encoding="utf-8"), media_type="text/markdown; charset=utf-8"
    )


@router.get("/tietosuoja", response_class=HTMLResponse)
async def privacy_page(request: Request, settings: SettingsDep, assets: AssetsDep):
    return info_page(request, settings, assets, "tietosuoja.html")


@router.get("/saavutettavuus", response_class=HTMLResponse)
async def accessibility_page(
    request: Request, settings: SettingsDep, assets: AssetsDep
):
    return info_page(request, settings, assets, "saavutettavuus.html")
