"""The web app: `create_app(settings)` builds it; resources open in `lifespan`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from polkuopas import __version__
from polkuopas.catalog import load_catalog
from polkuopas.messages import catalogue
from polkuopas.store import open_store
from polkuopas.web import api, info, pages, staff
from polkuopas.web.bundle import WidgetAssets
from polkuopas.web.config import WebSettings, get_web_settings
from polkuopas.web.pathview import finnish_date, fmt, join_names, path_model
from polkuopas.web.security import SecurityHeaders
from polkuopas_contract.ratelimit import ClientLimits

log = logging.getLogger("polkuopas.web")

HERE = Path(__file__).resolve().parent
# An error page's title and text, by status: names in messages_fi.yml.
PAGE_ERRORS = {
    403: ("page_forbidden_title", "page_forbidden"),
    404: ("page_not_found_title", "page_not_found"),
    405: ("page_not_allowed_title", "page_not_allowed"),
}


def make_templates(assets: WidgetAssets) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        fmt=fmt,
        finnish_date=finnish_date,
        join_names=join_names,
        path_model=path_model,
        version=__version__,
        strings=lambda: assets.strings["fi"],
    )
    return Jinja2Templates(env=env)


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or get_web_settings()
    assets = WidgetAssets(settings.widget_dir)
    assets.get("polkuopas-widget.js")  # fail at start, not at the first request

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings.db)
        app.state.store = store
        app.state.catalog = load_catalog(settings.paths_dir)
        log.info("web app ready (demo %s)", "on" if settings.demo else "off")
        try:
            yield
        finally:
            store.db.close()

    app = FastAPI(
        title="Polkuopas web",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.limits = ClientLimits.from_settings(
        settings.rate_limit_per_minute,
        settings.rate_limit_burst,
        settings.rate_limit_address_per_minute,
        settings.rate_limit_address_burst,
    )
    app.state.assets = assets
    app.state.templates = make_templates(assets)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(info.router)
    app.include_router(staff.router)
    app.state.sign_in_limits = staff.SignInLimits()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        # FastAPI's default body echoes the input; ours names the fields only.
        fields = sorted(
            {".".join(str(p) for p in e["loc"][1:]) or "body" for e in exc.errors()}
        )
        return JSONResponse(
            {"error": "invalid request", "fields": fields}, status_code=400
        )

    @app.exception_handler(staff.SignInRequired)
    async def sign_in_required(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/tyotila/kirjaudu", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(("/api/", "/widget/", "/static/")):
            return JSONResponse(
                {"error": exc.detail},
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        title, text = PAGE_ERRORS.get(
            exc.status_code, ("page_error_title", "page_error")
        )
        texts = catalogue()
        return app.state.templates.TemplateResponse(
            request,
            "virhe.html",
            {"title": texts.text(title), "text": texts.text(text), "widget": None},
            status_code=exc.status_code,
        )

    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.origins(),
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    app.add_middleware(SecurityHeaders, rasa_origin=settings.rasa_origin())
    return app
