"""Speed-ups for Rasa 3.6.21 in Polkuopas (runs inside Rasa, Python 3.10).

What each one buys is measured by `make bench` (reports/bench.md). None of them
changes what the assistant answers or what is stored: tests/test_speedups.py
(with tests/check_speedups.py) and the end-to-end tests check it.
They are written for Rasa 3.6.21 and refuse to patch any other version: a
warning is logged and Rasa runs as it comes.

1. `install()`, called by the chat channel's constructor (before the model is
   loaded), patches five costs of Rasa 3.6.21 and sets one thing:

   * `RemoteAction._validate_action_result` calls `jsonschema.validate`, which
     checks the *schema* against the JSON-Schema metaschema (jsonschema 4.17:
     tens of milliseconds) on every custom action call. The schema is a
     constant, so its validator is built once; the response is still
     validated as `jsonschema.validate` does (the same error, Rasa's message).
   * `Event.resolve_by_type` walks every subclass of `Event` for every event
     it deserialises (a tracker read from SQL, an action server's events). The
     type name -> class look-up is cached; unknown names go to Rasa.
   * `Policy.format_tracker_states` formats the whole conversation for a debug
     log event of RulePolicy at every prediction, also when that event is
     dropped; it now returns "" when the logger the event goes to is not
     enabled for DEBUG (structlog's `filter_by_level` drops it then).
   * `EndpointConfig.request` opens a new aiohttp session, so a new TCP
     connection, for every call to the action server. One session per
     endpoint and event loop is kept instead (keep-alive; idle connections
     closed after 2 s, before uvicorn's 5 s, so that no request goes out on a
     connection the server is closing).
   * `SpacyNLP.load_model`: the spaCy pipeline's named-entity recogniser
     (`ner`, with its own tok2vec) runs on every message, and nothing in
     bot/config.yml reads its entities (there is no SpacyEntityExtractor). It
     is removed from the pipeline when SpacyNLP loads the model, as spaCy's
     `exclude` would; tokens, lemmas, tags and vectors stay the same.
   * TensorFlow's two thread pools get one thread each (Rasa's
     TF_INTER_OP_PARALLELISM_THREADS and TF_INTRA_OP_PARALLELISM_THREADS, when
     set, win). Rasa predicts one message at a time and DIET's matrices are
     small: more threads only add hand-offs and spinning that take CPU from
     the action server and the next request. The parse results are the same
     to the last bit (checked on tests/nlu/eval.yml).

2. `freeze_loaded_model()`, called by the chat channel once the server has
   started (Sanic's after_server_start, after Rasa loaded the model in
   before_server_start): one full collection, then `gc.freeze()`. The
   model's objects (TensorFlow's graph, spaCy's vocabulary, Rasa's domain:
   a few hundred thousand) move to the collector's permanent generation, so
   the full collections that the per-message garbage sets off no longer walk
   them. Nothing is freed or kept that would not be otherwise, but for
   cycles among the frozen objects themselves. POLKUOPAS_GC_FREEZE=false
   leaves it out (the benchmark measures both); only with the speed-ups
   installed.

3. The cached tracker store is in `polkuopas_rasa.trackerstore`.

Installing is an explicit call, never an import side effect: Rasa imports the
channel (polkuopas_rasa.channel) and builds it before it loads the model, and
its constructor calls `install()`. A script or a test calls it itself, before
it loads a model.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Mapping
from typing import Any

from rasa.version import __version__ as RASA_VERSION

log = logging.getLogger("polkuopas.speedups")

# The Rasa version these patches were written and checked for.
SUPPORTED_RASA = "3.6.21"
# spaCy pipes whose output no component of bot/config.yml reads: the named
# entities (no SpacyEntityExtractor). Rasa itself loads spaCy without "parser".
SPACY_UNUSED = ("ner",)
# RulePolicy's debug event with the formatted states goes to this logger.
RULE_POLICY_LOGGER = "rasa.core.policies.rule_policy"
# Rasa sizes TensorFlow's thread pools from these when they are set.
TF_THREAD_VARIABLES = (
    "TF_INTER_OP_PARALLELISM_THREADS",
    "TF_INTRA_OP_PARALLELISM_THREADS",
)

# The switch of `freeze_loaded_model` (docs/configuration.md; default on).
GC_FREEZE_VARIABLE = "POLKUOPAS_GC_FREEZE"
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})

# (owner, attribute, original value) of every patch, for `uninstall`.
_originals: list[tuple[Any, str, Any]] = []


def supported() -> bool:
    """Is this the Rasa version the patches were written for?"""
    return RASA_VERSION == SUPPORTED_RASA


def install(
    *, keep_alive: bool = True, spacy: bool = True, threads: bool = True
) -> bool:
    """Apply the patches (once per process). Returns whether they are in.

    `keep_alive`, `spacy` and `threads` leave out the session patch, the spaCy
    patch and TensorFlow's threads (the benchmark measures each change); the
    spaCy patch works on spaCy models loaded afterwards, the threads only
    before TensorFlow has run anything.
    """
    if _originals:
        return True
    if not supported():
        log.warning(
            "polkuopas speed-ups are written for Rasa %s, this is Rasa %s: "
            "not installed, Rasa runs unpatched",
            SUPPORTED_RASA,
            RASA_VERSION,
        )
        return False
    _cache_action_response_validator()
    _cache_event_types()
    _lazy_debug_states()
    if keep_alive:
        _keep_alive_sessions()
    if spacy:
        _spacy_without_unused_pipes()
    if threads:
        _tensorflow_threads()
    log.info("polkuopas speed-ups installed (Rasa %s)", RASA_VERSION)
    return True


def uninstall() -> None:
    """Undo `install` (the benchmark measures with and without)."""
    while _originals:
        owner, name, value = _originals.pop()
        setattr(owner, name, value)


def installed() -> bool:
    return bool(_originals)


def _patch(owner: Any, name: str, value: Any) -> None:
    _originals.append((owner, name, owner.__dict__[name]))
    setattr(owner, name, value)


def _cache_action_response_validator() -> None:
    from jsonschema import ValidationError, exceptions, validators
    from rasa.core.actions import action as rasa_action

    validator_cache: dict[type, Any] = {}

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        validator = validator_cache.get(type(self))
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validators.validator_for(schema)
            cls.check_schema(schema)  # what jsonschema.validate does each time
            validator = validator_cache[type(self)] = cls(schema)
        try:
            # jsonschema.validate raises the best match of all errors.
            error = exceptions.best_match(validator.iter_errors(result))
            if error is not None:
                raise error
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                "For more information about the format visit "
                f"{rasa_action.DOCS_BASE_URL}/custom-actions"
            )
            raise e

    _patch(rasa_action.RemoteAction, "_validate_action_result", _validate_action_result)


def _cache_event_types() -> None:
    from rasa.shared.core.events import Event

    original = Event.__dict__["resolve_by_type"].__func__
    by_name: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> Any:
        cls = by_name.get(type_name)
        if cls is not None:
            return cls
        cls = original(type_name, default)
        if cls is not None and cls is not default:
            by_name[type_name] = cls
        return cls

    _patch(Event, "resolve_by_type", staticmethod(resolve_by_type))


def _lazy_debug_states() -> None:
    from rasa.core.policies.policy import Policy

    original = Policy.__dict__["format_tracker_states"].__func__
    rule_policy_logger = logging.getLogger(RULE_POLICY_LOGGER)

    def format_tracker_states(states: list[dict]) -> str:
        if not rule_policy_logger.isEnabledFor(logging.DEBUG):
            return ""
        return original(states)

    _patch(Policy, "format_tracker_states", staticmethod(format_tracker_states))


def _keep_alive_sessions() -> None:
    import asyncio

    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    class _Kept:
        """`async with` that neither opens nor closes the kept session."""

        def __init__(self, session: aiohttp.ClientSession) -> None:
            self.session = session

        async def __aenter__(self) -> aiohttp.ClientSession:
            return self.session

        async def __aexit__(self, *exc_info: Any) -> None:
            return None

    def session(self: EndpointConfig) -> Any:
        # One session per endpoint (kept on it) and event loop.
        loop = asyncio.get_running_loop()
        sessions = self.__dict__.setdefault("_polkuopas_sessions", {})
        kept_loop, kept = sessions.get(id(loop), (None, None))
        if kept is None or kept.closed or kept_loop is not loop:
            # Rasa's own session (headers, auth, timeout), with a connector
            # that closes idle connections before the server does.
            auth = None
            if self.basic_auth:
                auth = aiohttp.BasicAuth(
                    self.basic_auth["username"], self.basic_auth["password"]
                )
            kept = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=2),
            )
            sessions[id(loop)] = (loop, kept)
        return _Kept(kept)

    _patch(EndpointConfig, "session", session)


def _spacy_without_unused_pipes() -> None:
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    original = SpacyNLP.__dict__["load_model"].__func__

    def load_model(spacy_model_name: str) -> Any:
        model = original(spacy_model_name)  # Rasa's checks and messages
        for pipe in SPACY_UNUSED:
            if pipe in model.model.component_names:
                model.model.remove_pipe(pipe)
        return model

    _patch(SpacyNLP, "load_model", staticmethod(load_model))


def _tensorflow_threads() -> None:
    if any(os.environ.get(name, "").strip() for name in TF_THREAD_VARIABLES):
        return  # Rasa set them from the environment (as asked)
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:
        log.warning(
            "TensorFlow already runs: its thread pools keep their sizes "
            "(install the speed-ups before the model loads)"
        )


async def close_kept_sessions(endpoint: Any) -> None:
    """Close the sessions the keep-alive patch keeps for `endpoint`."""
    for _, session in endpoint.__dict__.pop("_polkuopas_sessions", {}).values():
        await session.close()


def gc_freeze_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """POLKUOPAS_GC_FREEZE: on unless set to false (or 0, no, off); any
    other value raises ValueError naming the variable."""
    environ = os.environ if environ is None else environ
    raw = environ.get(GC_FREEZE_VARIABLE, "").strip().lower()
    if not raw or raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{GC_FREEZE_VARIABLE} must be true or false (got {raw!r})")


def freeze_loaded_model(wanted: bool = True) -> int | None:
    """Once the model is loaded: collect, then move every object that is
    left into the garbage collector's permanent generation (`gc.freeze`).
    Returns how many objects are frozen, or None when it is left out (not
    `wanted`, or the speed-ups are not installed)."""
    if not wanted or not installed():
        log.info("gc.freeze after the model loaded: off")
        return None
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("gc.freeze after the model loaded: %d objects frozen", frozen)
    return frozen
