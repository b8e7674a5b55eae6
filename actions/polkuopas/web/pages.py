"""The pages: the demo (/), the role page (/roolit), the path pictures
(/polut, /polut/{id}) and the embedding guide (/upotus).

Every page is plain server-rendered HTML that works without JavaScript; the
scripts only add to it (the chat widget, the live role filter, the demo
buttons, the print button).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from polkuopas.answers import in_sentence, path_payload
from polkuopas.catalog import Catalog, ServicePath
from polkuopas.demo import CLIENTS
from polkuopas.questions import path_reply, topic_label, topics
from polkuopas.web.api import CatalogDep, SettingsDep
from polkuopas.web.bundle import JS_NAME, PATH_CSS_NAME, WidgetAssets
from polkuopas.web.pathview import matches, role_paths, role_search_text

router = APIRouter()

# The demo page's buttons: who each demo client is, in the words of the page.
DEMO_BUTTONS = {
    "demo-valtteri": "Valtteri",
    "demo-suvi": "Suvi",
    "demo-mika": "Mika",
    "demo-paattynyt": "Päättynyt asiakas",
}
EXAMPLE_QUESTIONS = [
    "Kuka on minun työhönvalmentajani?",
    "Missä vaiheessa olen?",
    "Mitä tapahtuu seuraavaksi?",
    "Näytä minun polkuni",
    "Mikä ero on työvalmentajalla ja työhönvalmentajalla?",
    "Miten tavoitan asiakasvastaavani?",
    "Otetaanko minuun yhteyttä, kun palvelu loppuu?",
]


def get_assets(request: Request) -> WidgetAssets:
    return request.app.state.assets


AssetsDep = Annotated[WidgetAssets, Depends(get_assets)]


def render(request: Request, template: str, status: int = 200, **context: Any):
    return request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status
    )


def widget_urls(request: Request, assets: WidgetAssets) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {
        "base": base,
        "js": f"/widget/{JS_NAME}?v={assets.version(JS_NAME)}",
        "path_css": f"/widget/{PATH_CSS_NAME}?v={assets.version(PATH_CSS_NAME)}",
        "js_absolute": f"{base}/widget/{JS_NAME}",
    }


@router.get("/", response_class=HTMLResponse)
async def demo_page(request: Request, settings: SettingsDep, assets: AssetsDep):
    clients = [
        {"id": c.id, "name": DEMO_BUTTONS.get(c.id, c.id), "label": c.label}
        for c in CLIENTS
    ]
    return render(
        request,
        "index.html",
        widget=widget_urls(request, assets),
        rasa_url=settings.rasa_url,
        demo=settings.demo,
        clients=clients,
        questions=EXAMPLE_QUESTIONS,
    )


@router.get("/roolit", response_class=HTMLResponse)
async def roles_page(
    request: Request,
    catalog: CatalogDep,
    assets: AssetsDep,
    q: Annotated[str, Query(max_length=100)] = "",
):
    query = q.strip()
    roles = []
    for role in catalog.roles.values():
        text = role_search_text(role)
        roles.append(
            {
                "role": role,
                "search": text,
                "shown": not query or matches(text, query),
                "paths": role_paths(catalog, role.id),
            }
        )
    return render(
        request,
        "roolit.html",
        widget=widget_urls(request, assets),
        roles=roles,
        query=query,
        shown=sum(r["shown"] for r in roles),
        titles={r.id: r.title for r in catalog.roles.values()},
    )


@router.get("/polut", response_class=HTMLResponse)
async def paths_page(request: Request, catalog: CatalogDep, assets: AssetsDep):
    return render(
        request,
        "polut.html",
        widget=widget_urls(request, assets),
        paths=list(catalog.paths.values()),
    )


@router.get("/polut/{path_id}", response_class=HTMLResponse)
async def path_page(
    path_id: str, request: Request, catalog: CatalogDep, assets: AssetsDep
):
    path = catalog.paths.get(path_id)
    if path is None:
        raise HTTPException(404, "unknown path")
    roles = sorted(path.roles_used(), key=lambda r: catalog.role(r).title)
    return render(
        request,
        "polku.html",
        widget=widget_urls(request, assets),
        path=path,
        payload=path_payload(catalog, path, None),
        roles=[catalog.role(r) for r in roles],
        questions=page_questions(catalog, path),
    )


def page_questions(catalog: Catalog, path: ServicePath) -> list[dict[str, Any]]:
    """The path's questions as the bot answers them without identity: the same
    answer text, the role that can tell more by its title, the cited sources."""
    items = []
    for topic in topics(catalog):
        reply = path_reply(catalog, path, topic)
        if reply is None:
            continue
        items.append(
            {
                "question": reply.question,
                "label": topic_label(catalog, topic),
                "role": in_sentence(reply.contacts[0].role_title)
                if reply.contacts
                else None,
                "cited": path.cited(reply.question.sources),
            }
        )
    return items


@router.get("/upotus", response_class=HTMLResponse)
async def embed_page(request: Request, settings: SettingsDep, assets: AssetsDep):
    return render(
        request,
        "upotus.html",
        widget=widget_urls(request, assets),
        rasa_url=settings.rasa_url,
        example_path="kuntouttava-tyotoiminta",
    )


@router.get("/widget/{name}")
async def widget_file(name: str, request: Request, assets: AssetsDep) -> Response:
    asset = assets.get(name)
    if asset is None:
        raise HTTPException(404, "unknown file")
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
