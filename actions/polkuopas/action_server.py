"""The action server: Rasa's action-server protocol on FastAPI.

Routes and error bodies follow `rasa_sdk.endpoint` (the protocol Rasa 3.6
speaks): `GET /health`, `GET /actions`, `POST /webhook`; 400 for an invalid body,
400 with `action_name` for a rejected action, 404 with `action_name` for an
unknown action, 449 when the domain is missing. Unlike rasa_sdk, no error body
echoes the request (it holds the user's messages). The actions run in
rasa_sdk's own `ActionExecutor`.

Only Rasa should call it: it binds to loopback by default, and with
`POLKUOPAS_ACTION_SECRET` set it answers `/webhook` only to requests carrying
that secret in the `X-Polkuopas-Secret` header (401 otherwise).

Run it with `python -m polkuopas.action_server` (or `make run`).
"""

from __future__ import annotations

import hmac
import json
import logging
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from polkuopas import logs
from polkuopas.bot_actions import ACTIONS, Services
from polkuopas.catalog import load_catalog
from polkuopas.messages import Messages
from polkuopas.settings import Settings, get_settings
from polkuopas.store import open_store

log = logging.getLogger("polkuopas.action_server")

INVALID_BODY = {"error": "Invalid body request"}
# Rasa sends the shared secret in this header (bot/endpoints.yml).
SECRET_HEADER = "X-Polkuopas-Secret"


class _TrackerShape(BaseModel):
    """What rasa_sdk's `Tracker.from_dict` needs, checked before running."""

    model_config = ConfigDict(extra="allow")
    sender_id: str
    slots: dict[str, Any] = {}
    latest_message: dict[str, Any] = {}
    events: list[dict[str, Any]] = []


class _ActionCallShape(BaseModel):
    model_config = ConfigDict(extra="allow")
    next_action: str | None = None
    tracker: _TrackerShape | None = None
    domain: dict[str, Any] | None = None


def build_executor(services: Services) -> ActionExecutor:
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(services))
    return executor


def get_executor(request: Request) -> ActionExecutor:
    return request.app.state.executor


Executor = Annotated[ActionExecutor, Depends(get_executor)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings.db)
        catalog = load_catalog(settings.paths_dir)
        app.state.executor = build_executor(Services(store, catalog, Messages.load()))
        log.info("action server ready: %d actions", len(ACTIONS))
        try:
            yield
        finally:
            store.db.close()

    app = FastAPI(
        title="Polkuopas action server",
        description="Rasa action-server protocol (rasa_sdk compatible).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/actions")
    async def actions(executor: Executor) -> list[dict[str, str]]:
        return [item.model_dump() for item in executor.list_actions()]

    @app.post("/webhook")
    async def webhook(request: Request, executor: Executor) -> JSONResponse:
        if settings.action_secret and not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, "").encode(),
            settings.action_secret.encode(),
        ):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        action_call = await _read_action_call(request)
        if action_call is None:
            return JSONResponse(INVALID_BODY, status_code=400)
        action_name = action_call.get("next_action")
        try:
            shape = _ActionCallShape.model_validate(action_call)
        except ValidationError:
            return JSONResponse(INVALID_BODY, status_code=400)
        if shape.next_action in executor.actions and shape.tracker is None:
            return JSONResponse(INVALID_BODY, status_code=400)
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as exc:
            return _error(400, exc.message, exc.action_name)
        except ActionNotFoundException as exc:
            return _error(404, exc.message, exc.action_name)
        except ActionMissingDomainException as exc:
            return _error(449, exc.message, exc.action_name)
        except Exception:
            log.exception("action %s failed", _safe_name(action_name))
            return _error(500, "The action failed.", _safe_name(action_name))
        return JSONResponse(result.model_dump() if result else None, status_code=200)

    return app


async def _read_action_call(request: Request) -> dict[str, Any] | None:
    """The request's JSON object, or None when it is not one."""
    body = await request.body()
    try:
        if request.headers.get("content-encoding") == "deflate":
            body = zlib.decompress(body)
        action_call = json.loads(body)
    except (ValueError, zlib.error):
        return None
    return action_call if isinstance(action_call, dict) else None


def _safe_name(name: Any) -> str:
    return name if isinstance(name, str) and len(name) <= 100 else "?"


def _error(status: int, message: str, action_name: str) -> JSONResponse:
    return JSONResponse(
        {"error": message, "action_name": action_name}, status_code=status
    )


def main() -> None:
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.action_host,
        port=settings.action_port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
