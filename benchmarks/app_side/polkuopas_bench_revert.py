"""Bench only: the action server as it was before changes 8-14, from outside.

`make bench` measures what each change to the action server bought by undoing
the later ones in the servers it starts (POLKUOPAS_BENCH_REVERT, read by this
folder's sitecustomize.py). Each name restores the code that change replaced;
the product has none of it.

* ``route`` (8): `POST /webhook` as a FastAPI route whose executor comes from a
  plain `def` dependency (solved, in a worker thread, on every request).
* ``log`` (9): one INFO line per action call (bot_actions.py).
* ``store`` (10): the client look-ups of `load_view` with sqlite-utils'
  `rows_where`, which first lists the tables and views (store.py).
* ``json`` (11): the body parsed with `json.loads` (action_server.py).
* ``shape`` (12): the request validated into pydantic models, which copies the
  whole tracker (action_server.py).
* ``fastpath`` (13): `POST /webhook` through FastAPI's middleware stack like
  every other route (`ActionServerApp.__call__`, action_server.py).
* ``ujson_out`` (14): the answer written with Starlette's `json.dumps`
  (`UJSONResponse`, action_server.py).

The servers run `polkuopas.action_server.main()` imported (not `python -m`,
whose `__main__` module would not see these changes).
"""

import json
import logging
import zlib
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from rasa_sdk.executor import ActionExecutor

KNOWN = ("route", "log", "store", "json", "shape", "fastpath", "ujson_out")


def apply(names: set[str]) -> None:
    unknown = names - set(KNOWN)
    if unknown:
        raise SystemExit(f"POLKUOPAS_BENCH_REVERT: unknown {sorted(unknown)}")
    for name in KNOWN:
        if name in names:
            REVERTS[name]()


# --- 8: the FastAPI route with a `def` dependency ----------------------------


def get_executor(request: Request) -> ActionExecutor:
    return request.app.state.executor


Executor = Annotated[ActionExecutor, Depends(get_executor)]


def _dependency_route() -> None:
    from polkuopas import action_server

    create_app = action_server.create_app

    def create_app_with_dependency(*args: Any, **kwargs: Any):
        app = create_app(*args, **kwargs)
        (route,) = [
            r for r in app.router.routes if getattr(r, "path", "") == "/webhook"
        ]
        plain = route.endpoint

        async def webhook(request: Request, executor: Executor) -> JSONResponse:
            return await plain(request)

        app.router.routes.remove(route)
        app.post("/webhook")(webhook)
        return app

    action_server.create_app = create_app_with_dependency


# --- 9: an INFO line per action call -------------------------------------------


class _InfoLogger:
    """The actions' logger with `debug` written at INFO, as it was."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)

    def debug(self, *args: Any, **kwargs: Any) -> None:
        self._logger.info(*args, **kwargs)


def _info_lines() -> None:
    from polkuopas import bot_actions

    bot_actions.log = _InfoLogger(bot_actions.log)


# --- 10: `rows_where` look-ups ---------------------------------------------------


def _rows_where() -> None:
    from polkuopas.store import Client, FollowUp, Store

    def find_client(self, client_id: str) -> Client | None:
        rows = list(self.db["clients"].rows_where("id = ?", [client_id]))
        return Client(**rows[0]) if rows else None

    def step_history(self, client_id: str) -> list[dict[str, Any]]:
        return list(
            self.db["step_history"].rows_where(
                "client_id = ?", [client_id], order_by="id"
            )
        )

    def find_followup(self, client_id: str) -> FollowUp | None:
        rows = list(self.db["followups"].rows_where("client_id = ?", [client_id]))
        return FollowUp(**rows[0]) if rows else None

    Store.find_client = find_client
    Store.step_history = step_history
    Store.find_followup = find_followup


# --- 11: json.loads --------------------------------------------------------------


def _json_body() -> None:
    from polkuopas import action_server

    async def _read_action_call(request: Request) -> dict[str, Any] | None:
        body = await request.body()
        try:
            if request.headers.get("content-encoding") == "deflate":
                body = zlib.decompress(body)
            action_call = json.loads(body)
        except (ValueError, zlib.error):
            return None
        return action_call if isinstance(action_call, dict) else None

    action_server._read_action_call = _read_action_call


# --- 12: pydantic models -----------------------------------------------------------


class _TrackerShape(BaseModel):
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


def _pydantic_shape() -> None:
    from polkuopas import action_server

    def valid_shape(call: dict[str, Any]) -> bool:
        try:
            _ActionCallShape.model_validate(call)
        except ValidationError:
            return False
        return True

    action_server.valid_shape = valid_shape


# --- 13: FastAPI's middleware for /webhook too ------------------------------------


def _through_middleware() -> None:
    from fastapi import FastAPI

    from polkuopas import action_server

    action_server.ActionServerApp.__call__ = FastAPI.__call__


# --- 14: json.dumps for the answer ----------------------------------------------------


def _json_answer() -> None:
    from polkuopas import action_server

    action_server.UJSONResponse.render = JSONResponse.render


REVERTS = {
    "route": _dependency_route,
    "log": _info_lines,
    "store": _rows_where,
    "json": _json_body,
    "shape": _pydantic_shape,
    "fastpath": _through_middleware,
    "ujson_out": _json_answer,
}
