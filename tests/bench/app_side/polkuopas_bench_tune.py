"""Bench only: the proposed action-server changes, applied from outside.

Each name is one change the report measures; the report gives the same change
as a diff against the shipped file. Nothing here is used by the product.

* ``dep``: the route's executor dependency as `async def` (action_server.py).
  FastAPI runs a plain `def` dependency in a worker thread, one thread hop per
  request.
* ``route``: `POST /webhook` as a plain Starlette route,
  `app.add_route("/webhook", webhook, methods=["POST"])` with
  `async def webhook(request)` taking the executor from `request.app.state`:
  no dependency solving on each request (action_server.py).
* ``log``: no INFO line per action call (bot_actions.py: `log.info` ->
  `log.debug` in `PolkuopasAction.run`).
* ``json``: the request body parsed with `ujson.loads` (installed with
  rasa-sdk's Sanic, which uses it too) instead of `json.loads`
  (action_server.py, `_read_action_call`).
* ``shape``: the request's shape checked with `isinstance` instead of
  validating it into pydantic models, which copies the whole tracker
  (action_server.py, `_ActionCallShape`/`_TrackerShape`).
* ``store``: the client look-ups of `load_view` with `Database.query`
  (store.py). `db["table"].rows_where(...)` first asks SQLite for the table and
  view names (three extra statements per look-up).

The servers run `polkuopas.action_server.main()` imported (not `python -m`,
whose `__main__` module would not see these changes).
"""

import logging

KNOWN = {"dep", "route", "log", "store", "json", "shape"}


def apply(names: set[str]) -> None:
    unknown = names - KNOWN
    if unknown:
        raise SystemExit(f"POLKUOPAS_BENCH_TUNE: unknown {sorted(unknown)}")
    if "dep" in names:
        _async_dependency()
    if "route" in names:
        _plain_route()
    if "log" in names:
        logging.getLogger("polkuopas.actions").setLevel(logging.WARNING)
    if "store" in names:
        _plain_queries()
    if "json" in names:
        _ujson_body()
    if "shape" in names:
        _plain_shape_check()


def _async_dependency() -> None:
    # create_app() resolves the route's annotations from the module's globals
    # when it runs, so this is the shipped code with `async def get_executor`.
    from typing import Annotated

    from fastapi import Depends, Request
    from rasa_sdk.executor import ActionExecutor

    from polkuopas import action_server

    async def get_executor(request: Request) -> ActionExecutor:
        return request.app.state.executor

    action_server.get_executor = get_executor
    action_server.Executor = Annotated[ActionExecutor, Depends(get_executor)]


def _plain_route() -> None:
    from polkuopas import action_server

    create_app = action_server.create_app

    def plain_route_app(*args, **kwargs):
        app = create_app(*args, **kwargs)
        (route,) = [
            r for r in app.router.routes if getattr(r, "path", "") == "/webhook"
        ]
        endpoint = route.endpoint  # webhook(request, executor)

        async def webhook(request):
            return await endpoint(request, request.app.state.executor)

        app.router.routes.remove(route)
        app.add_route("/webhook", webhook, methods=["POST"])
        return app

    action_server.create_app = plain_route_app


def _plain_queries() -> None:
    from polkuopas.store import Client, FollowUp, Store

    def find_client(self, client_id: str) -> Client | None:
        rows = list(self.db.query("SELECT * FROM clients WHERE id = ?", [client_id]))
        return Client(**rows[0]) if rows else None

    def step_history(self, client_id: str) -> list[dict]:
        return list(
            self.db.query(
                "SELECT * FROM step_history WHERE client_id = ? ORDER BY id",
                [client_id],
            )
        )

    def find_followup(self, client_id: str) -> FollowUp | None:
        rows = list(
            self.db.query("SELECT * FROM followups WHERE client_id = ?", [client_id])
        )
        return FollowUp(**rows[0]) if rows else None

    Store.find_client = find_client
    Store.step_history = step_history
    Store.find_followup = find_followup


def _ujson_body() -> None:
    import zlib

    import ujson

    from polkuopas import action_server

    async def _read_action_call(request):
        body = await request.body()
        try:
            if request.headers.get("content-encoding") == "deflate":
                body = zlib.decompress(body)
            action_call = ujson.loads(body)
        except (ValueError, zlib.error):
            return None
        return action_call if isinstance(action_call, dict) else None

    action_server._read_action_call = _read_action_call


def _plain_shape_check() -> None:
    from types import SimpleNamespace

    from pydantic import ValidationError

    from polkuopas import action_server

    def valid_shape(call: dict) -> bool:
        """What `_ActionCallShape.model_validate` accepts, for JSON input."""
        if not isinstance(call.get("next_action"), str | None):
            return False
        tracker = call.get("tracker")
        if tracker is not None:
            if not isinstance(tracker, dict):
                return False
            if not isinstance(tracker.get("sender_id"), str):
                return False
            for key, kind in (
                ("slots", dict),
                ("latest_message", dict),
                ("events", list),
            ):
                if key in tracker and not isinstance(tracker[key], kind):
                    return False
            if not all(isinstance(e, dict) for e in tracker.get("events", ())):
                return False
        return isinstance(call.get("domain"), dict | None)

    class Shape:
        @staticmethod
        def model_validate(call: dict) -> SimpleNamespace:
            if not valid_shape(call):
                raise ValidationError.from_exception_data("ActionCall", [])
            return SimpleNamespace(
                next_action=call.get("next_action"), tracker=call.get("tracker")
            )

    action_server._ActionCallShape = Shape
