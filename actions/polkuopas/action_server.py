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

Per request it does only what the protocol needs (the figures are in
reports/bench.md, `make bench`): `POST /webhook` is a plain Starlette route (no
dependency solving), served before FastAPI's middleware stack; the body is
parsed and the answer written with ujson (as rasa_sdk's Sanic does), and the
body's shape is checked with `isinstance` instead of being copied into pydantic
models.

Run it with `python -m polkuopas.action_server` (or `make run`).
"""

from __future__ import annotations

import hmac
import json
import logging
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import ujson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

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


# What rasa_sdk's `Tracker.from_dict` needs of the tracker, checked before
# running: a string `sender_id`; when present, `slots` and `latest_message`
# objects and `events` a list of objects.
_TRACKER_FIELDS = (("slots", dict), ("latest_message", dict), ("events", list))


def valid_shape(call: dict[str, Any]) -> bool:
    """Is the action call (a parsed JSON object) shaped as rasa_sdk expects?

    `next_action` a string or null; `tracker` null or an object as above;
    `domain` null or an object; other keys are allowed. (A plain `isinstance`
    check: validating into pydantic models would copy the whole tracker.)
    """
    if not isinstance(call.get("next_action"), str | None):
        return False
    if not isinstance(call.get("domain"), dict | None):
        return False
    tracker = call.get("tracker")
    if tracker is None:
        return True
    if not isinstance(tracker, dict) or not isinstance(tracker.get("sender_id"), str):
        return False
    for key, kind in _TRACKER_FIELDS:
        if key in tracker and not isinstance(tracker[key], kind):
            return False
    return all(isinstance(event, dict) for event in tracker.get("events", ()))


class UJSONResponse(JSONResponse):
    """JSONResponse written with ujson (the same JSON, faster)."""

    def render(self, content: Any) -> bytes:
        return ujson.dumps(
            content, ensure_ascii=False, escape_forward_slashes=False, allow_nan=False
        ).encode("utf-8")


class ActionServerApp(FastAPI):
    """FastAPI, with `POST /webhook` served before its middleware stack.

    Rasa calls only /webhook, once per custom action; FastAPI's middleware
    (error pages, telemetry hooks, body limits, exit stacks) costs more there
    than the route itself, and the route needs none of it: it answers every
    error itself. A middleware added to this app does not see /webhook.
    """

    webhook_route: Route | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.webhook_route
        if (
            route is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == route.path
        ):
            scope["app"] = self
            await route.handle(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def build_executor(services: Services) -> ActionExecutor:
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(services))
    return executor


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings.db)
        catalog = load_catalog(settings.paths_dir)
        app.state.executor = build_executor(
            Services(store, catalog, Messages.load(), settings.retention_days)
        )
        log.info("action server ready: %d actions", len(ACTIONS))
        try:
            yield
        finally:
            store.db.close()

    app = ActionServerApp(
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
    async def actions(request: Request) -> list[dict[str, str]]:
        executor: ActionExecutor = request.app.state.executor
        return [item.model_dump() for item in executor.list_actions()]

    async def webhook(request: Request) -> JSONResponse:
        if settings.action_secret and not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, "").encode(),
            settings.action_secret.encode(),
        ):
            return UJSONResponse({"error": "Unauthorized"}, status_code=401)
        action_call = await _read_action_call(request)
        if action_call is None or not valid_shape(action_call):
            return UJSONResponse(INVALID_BODY, status_code=400)
        executor: ActionExecutor = request.app.state.executor
        action_name = action_call.get("next_action")
        if action_name in executor.actions and action_call.get("tracker") is None:
            return UJSONResponse(INVALID_BODY, status_code=400)
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
        return UJSONResponse(result.model_dump() if result else None, status_code=200)

    # A plain route: FastAPI would solve dependencies and parameters on every
    # call, and the protocol needs none of it.
    app.webhook_route = Route("/webhook", webhook, methods=["POST"])
    app.router.routes.append(app.webhook_route)
    return app


async def _read_action_call(request: Request) -> dict[str, Any] | None:
    """The request's JSON object, or None when it is not one."""
    body = await request.body()
    try:
        if request.headers.get("content-encoding") == "deflate":
            body = zlib.decompress(body)
        try:
            action_call = ujson.loads(body)
        except ValueError:
            # What ujson refuses but json reads: a BOM, UTF-16/32, nesting
            # deeper than 1024. Rasa sends plain UTF-8; nothing json accepted
            # is refused.
            action_call = json.loads(body)
    except (ValueError, RecursionError, zlib.error):
        return None
    return action_call if isinstance(action_call, dict) else None


def _safe_name(name: Any) -> str:
    return name if isinstance(name, str) and len(name) <= 100 else "?"


def _error(status: int, message: str, action_name: str) -> JSONResponse:
    return UJSONResponse(
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
