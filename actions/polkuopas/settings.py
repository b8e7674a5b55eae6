"""Configuration, read once from the environment.

Every variable is listed in docs/configuration.md, generated from this model by
`make docs`; a test fails when that table is stale. The settings the chat
channel reads too take their defaults from the contract package
(`polkuopas_contract.ChannelSettings`), so the two sides cannot disagree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from polkuopas.store.postgres import is_postgres_url
from polkuopas_contract import ENV_PREFIX, ChannelSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHANNEL = ChannelSettings()  # the channel's defaults


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    db: Path | str = Field(
        default=PROJECT_ROOT / CHANNEL.db,
        description="The client store: a SQLite file, or a "
        "postgresql://user:password@host:port/database URL.",
    )
    paths_dir: Path = Field(
        default=PROJECT_ROOT / "paths",
        description="Folder of the service path files and roles.yml.",
    )
    token_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days a personal chat token is valid unless --days is given.",
    )
    link_base: str = Field(
        default="http://localhost:8000/",
        description="Page that `polkuopas client token ID --link` points to.",
    )
    action_host: str = Field(
        default="127.0.0.1",
        description="Address the action server binds to (loopback by default).",
    )
    action_port: int = Field(default=5055, description="Port of the action server.")
    action_url: str = Field(
        default=CHANNEL.action_url,
        description="Where the Rasa server calls the action server "
        "(bot/endpoints.yml reads it).",
    )
    rasa_port: int = Field(default=5005, description="Port of the Rasa server.")
    reply_timeout: float = Field(
        default=CHANNEL.reply_timeout,
        gt=0,
        description="Seconds the chat channel waits for an answer before it "
        "says the service is unavailable (read by bot/polkuopas_rasa/channel.py).",
    )
    rate_limit_per_minute: float = Field(
        default=CHANNEL.rate_limit_per_minute,
        ge=0,
        description="Requests a minute each client with a valid token may send to "
        "the chat channel and to the web app's API (0: no limit); read by "
        "bot/polkuopas_rasa/channel.py too.",
    )
    rate_limit_burst: int = Field(
        default=CHANNEL.rate_limit_burst,
        ge=1,
        description="Requests a client with a valid token may send at once "
        "before the per-minute rate applies.",
    )
    rate_limit_address_per_minute: float = Field(
        default=CHANNEL.rate_limit_address_per_minute,
        ge=0,
        description="Requests a minute from one address without a valid token "
        "(many people may share an address); 0: no limit.",
    )
    rate_limit_address_burst: int = Field(
        default=CHANNEL.rate_limit_address_burst,
        ge=1,
        description="Requests one address without a valid token may send at once.",
    )
    action_secret: str = Field(
        default="",
        description="When set, the action server answers /webhook only to "
        "requests carrying it in the X-Polkuopas-Secret header (Rasa sends it).",
    )
    web_host: str = Field(
        default="127.0.0.1", description="Address the web app binds to."
    )
    web_port: int = Field(default=8000, description="Port of the web app.")
    rasa_url: str = Field(
        default="http://127.0.0.1:5005",
        description="The Rasa server as the browser reaches it (the widget's "
        "server, the pages' CSP connect-src).",
    )
    cors_origins: str = Field(
        default="http://localhost:8000 http://127.0.0.1:8000",
        description="Origins (space- or comma-separated) of pages that may embed "
        "the widget; the web app's API and Rasa --cors.",
    )
    demo: bool = Field(
        default=False,
        description="The demo page may issue 2-hour tokens for the demo clients.",
    )
    widget_dir: Path = Field(
        default=PROJECT_ROOT / "web-widget",
        description="Folder of the chat widget's sources.",
    )
    tracker_db: Path = Field(
        default=PROJECT_ROOT / "var" / "rasa-tracker.db",
        description="Rasa's conversation store (SQLite tracker store, "
        "bot/endpoints.yml).",
    )
    gc_freeze: bool = Field(
        default=True,
        description="Once the model has loaded, each Rasa server moves what it "
        "holds into the garbage collector's permanent generation (gc.freeze), "
        "so that collections stop walking the model (read by "
        "bot/polkuopas_rasa/channel.py; figures in reports/bench.md).",
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        description="Conversations idle longer than this are deleted by "
        "`polkuopas conversations purge`.",
    )
    # The county's details on the privacy notice (/tietosuoja) and the
    # accessibility statement (/saavutettavuus). The defaults are the demo's.
    county_name: str = Field(
        default="Esimerkkihyvinvointialue (demo)",
        description="The controller: the wellbeing services county running Polkuopas.",
    )
    county_contact: str = Field(
        default="kirjaamo@hyvinvointialue.example",
        description="The county's registry office (kirjaamo): address or e-mail.",
    )
    privacy_officer: str = Field(
        default="tietosuojavastaava@hyvinvointialue.example",
        description="How to reach the county's data protection officer.",
    )
    accessibility_feedback: str = Field(
        default="saavutettavuus@hyvinvointialue.example",
        description="Where accessibility feedback on Polkuopas goes.",
    )
    log_level: str = Field(
        default="INFO",
        pattern=r"(?i)^(debug|info|warning|error)$",
        description="Log level of the action server and the web app.",
    )
    log_format: str = Field(
        default="json",
        pattern=r"^(json|text)$",
        description="`json` (one object a line) or `text`.",
    )
    # The professionals' workspace (/tyotila).
    staff_https: bool = Field(
        default=False,
        description="The workspace is reached over HTTPS (also behind a proxy "
        "that ends TLS): its session cookies are sent only over HTTPS (Secure).",
    )
    staff_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="A workspace session ends after this many minutes without "
        "a request.",
    )
    staff_session_hours: int = Field(
        default=8,
        ge=1,
        le=24,
        description="A workspace session ends this many hours after sign-in, "
        "in use or not.",
    )
    # Single sign-on to the workspace (docs/store-and-security.md); off when unset.
    oidc_issuer: str = Field(
        default="",
        description="Issuer URL of the county's OpenID Provider (its discovery "
        "document is ISSUER/.well-known/openid-configuration); empty: no single "
        "sign-on.",
    )
    oidc_client_id: str = Field(
        default="", description="Client id of Polkuopas at the OpenID Provider."
    )
    oidc_client_secret: str = Field(
        default="",
        description="Client secret of Polkuopas at the OpenID Provider.",
    )
    oidc_label: str = Field(
        default="Kirjaudu organisaation tunnuksella",
        description="Text of the single sign-on button on the workspace's "
        "sign-in page, e.g. `Kirjaudu Entra ID:llä`.",
    )
    actor: str = Field(
        default="",
        description="Name recorded in the audit log for CLI changes "
        "(default: the login name).",
    )

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if value and not (
            parts.netloc
            and (parts.scheme == "https" or (parts.scheme == "http" and loopback))
        ):
            raise ValueError("must be an https URL such as https://login.example/v2.0")
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError(
                "POLKUOPAS_OIDC_ISSUER needs POLKUOPAS_OIDC_CLIENT_ID and "
                "POLKUOPAS_OIDC_CLIENT_SECRET"
            )
        return self

    @field_validator("db", mode="before")
    @classmethod
    def _store_location(cls, value: object) -> object:
        # A file path stays a Path; a PostgreSQL URL stays the text it is.
        if isinstance(value, str) and not is_postgres_url(value):
            return Path(value)
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
