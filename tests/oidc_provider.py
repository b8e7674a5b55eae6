"""A real OpenID Provider for the tests: Debian's `glewlwyd` package.

Glewlwyd (a single sign-on server in C, packaged in Debian) is started on a
free loopback port with a throwaway SQLite database made from the schema the
package ships (its dbconfig-common install script) and a configuration file
written here. Through its own admin API it then gets what a county's identity
provider has: the OpenID Connect plugin (RS256 ID tokens, PKCE, the `email`
and `email_verified` claims), a confidential client with our redirect URI,
and users. Nothing of the protocol is imitated here: the discovery document,
the JWKS, the authorization, token and login endpoints are Glewlwyd's.

A user signs in the way Glewlwyd's own login page does it: POST /api/auth
with the user name and password (a session cookie), then PUT
/api/auth/grant/{client} to consent to the scopes, then the authorization
endpoint again, which now redirects back to the client with a code.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from benchmarks.servers import free_port

BINARY = shutil.which("glewlwyd") or "/usr/bin/glewlwyd"
SCHEMA = Path("/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3")
MODULES = Path("/usr/lib/glewlwyd")
# The schema's first administrator (init script of the package).
ADMIN = ("admin", "password")
SCOPES = ("openid", "email", "profile")
CLIENT_ID = "polkuopas"

WEBAPP = Path("/usr/share/glewlwyd/webapp")
STATIC = """\
static_files_path="{webapp}/"
static_files_mime_types =
(
  {{ extension = ".html" mime_type = "text/html" }},
  {{ extension = ".css" mime_type = "text/css" }},
  {{ extension = ".js" mime_type = "application/javascript" }},
  {{ extension = ".json" mime_type = "application/json" }},
  {{ extension = ".png" mime_type = "image/png" }},
  {{ extension = ".ico" mime_type = "image/x-icon" }},
  {{ extension = ".woff" mime_type = "font/woff" }},
  {{ extension = ".woff2" mime_type = "font/woff2" }},
  {{ extension = ".ttf" mime_type = "font/ttf" }},
  {{ extension = ".svg" mime_type = "image/svg+xml" }}
)
"""

CONFIG = """\
port={port}
bind_address="127.0.0.1"
external_url="{base}"
login_url="login.html"
api_prefix="api"
allow_origin="*"
log_mode="file"
log_level="INFO"
log_file="{log}"
cookie_secure=0
cookie_same_site="lax"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
plugin_api_run_enabled=""
add_x_frame_option_header_deny=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="{modules}/user"
client_module_path="{modules}/client"
user_auth_scheme_module_path="{modules}/scheme"
plugin_module_path="{modules}/plugin"
use_secure_connection=false
# Read even when TLS is off: without them Glewlwyd refuses to start.
secure_connection_key_file="{root}/none.key"
secure_connection_pem_file="{root}/none.pem"
hash_algorithm="SHA512"
{static}
database =
{{
  type = "sqlite3"
  path = "{db}"
}};
"""


def available() -> bool:
    return Path(BINARY).is_file() and SCHEMA.is_file()


class Glewlwyd:
    """One Glewlwyd server with a throwaway database under `root`."""

    def __init__(self, root: Path, host: str = "127.0.0.1"):
        self.root = root
        self.port = free_port()
        self.base = f"http://{host}:{self.port}"
        self.issuer = f"{self.base}/api/oidc"
        self.db = root / "glewlwyd.db"
        self.log = root / "glewlwyd.log"
        self.process: subprocess.Popen | None = None
        self.admin = httpx.Client(base_url=self.base, timeout=10)

    # --- starting and stopping ------------------------------------------------

    def start(self) -> None:
        self._make_database()
        config = self.root / "glewlwyd.conf"
        config.write_text(
            CONFIG.format(
                port=self.port,
                base=self.base,
                log=self.log,
                modules=MODULES,
                db=self.db,
                root=self.root,
                static=self._webapp(),
            )
        )
        self.process = subprocess.Popen(
            [BINARY, f"--config-file={config}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"glewlwyd stopped at start:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base}/config/", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"glewlwyd did not start:\n{self.tail()}")
        response = self.admin.post(
            "/api/auth/", json={"username": ADMIN[0], "password": ADMIN[1]}
        )
        check(response, "admin sign-in")

    def _webapp(self) -> str:
        """Glewlwyd's own web pages (login, consent), served by Glewlwyd at
        its root: the package's files, with the package's config.json (a
        directory in the package, by mistake) put where the pages look for it."""
        webapp = self.root / "webapp"
        # A copy: Glewlwyd does not serve files through symbolic links.
        shutil.copytree(WEBAPP, webapp, ignore=shutil.ignore_patterns("config.json"))
        shipped = WEBAPP / "config.json"
        if shipped.is_dir():
            shipped = shipped / "config.json"
        (webapp / "config.json").write_text(shipped.read_text())
        return STATIC.format(webapp=webapp)

    def stop(self) -> None:
        self.admin.close()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def _make_database(self) -> None:
        connection = sqlite3.connect(self.db)
        try:
            connection.executescript(SCHEMA.read_text())
            # The database user module keeps only the properties it is told
            # of: `email_verified` is one more, read into the ID token below.
            row = connection.execute(
                "SELECT gumi_parameters FROM g_user_module_instance "
                "WHERE gumi_name = 'database'"
            ).fetchone()
            parameters = json.loads(row[0])
            parameters["data-format"]["email_verified"] = {
                "multiple": False,
                "read": True,
                "write": True,
                "profile-read": True,
                "profile-write": False,
            }
            connection.execute(
                "UPDATE g_user_module_instance SET gumi_parameters = ? "
                "WHERE gumi_name = 'database'",
                [json.dumps(parameters)],
            )
            connection.commit()
        finally:
            connection.close()

    # --- what a county's administrator sets up ---------------------------------

    def configure(self, redirect_uri: str, client_secret: str) -> None:
        """The OpenID Connect plugin, the scopes and our client."""
        for scope in SCOPES[1:]:
            check(
                self.admin.post(
                    "/api/scope/",
                    json={
                        "name": scope,
                        "display_name": scope,
                        "description": scope,
                        "password_required": False,
                        "password_max_age": 0,
                        "scheme": {},
                    },
                ),
                f"scope {scope}",
            )
        check(self.admin.post("/api/mod/plugin/", json=self._plugin()), "oidc plugin")
        check(
            self.admin.post(
                "/api/client/?source=database",
                json={
                    "client_id": CLIENT_ID,
                    "name": "Polkuopas",
                    "confidential": True,
                    "password": client_secret,
                    "enabled": True,
                    "scope": list(SCOPES),
                    "redirect_uri": [redirect_uri],
                    "authorization_type": ["code"],
                    "token_endpoint_auth_method": ["client_secret_basic"],
                },
            ),
            "client",
        )

    def rotate_key(self) -> None:
        """A new signing key, as a county's provider rotates its keys."""
        check(
            self.admin.put("/api/mod/plugin/oidc", json=self._plugin()),
            "new signing key",
        )
        check(self.admin.put("/api/mod/plugin/oidc/reset"), "plugin reload")

    def _plugin(self) -> dict:
        return {
            "module": "oidc",
            "name": "oidc",
            "display_name": "OpenID Connect",
            "parameters": self._plugin_parameters(),
        }

    def _plugin_parameters(self) -> dict:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
            .decode()
        )
        return {
            "iss": self.issuer,
            "jwt-type": "rsa",
            "jwt-key-size": "256",
            "key": private,
            "cert": public,
            "jwks-show": True,
            "access-token-duration": 3600,
            "refresh-token-duration": 1209600,
            "code-duration": 600,
            "refresh-token-rolling": False,
            "allow-non-oidc": False,
            "auth-type-code-enabled": True,
            "auth-type-token-enabled": False,
            "auth-type-id-token-enabled": False,
            "auth-type-none-enabled": False,
            "auth-type-password-enabled": False,
            "auth-type-client-enabled": False,
            "auth-type-device-enabled": False,
            "auth-type-refresh-enabled": False,
            "subject-type": "public",
            "secret-type": "pairwise",
            "scope": [],
            "additional-parameters": [],
            "name-claim": "mandatory",
            "name-claim-scope": [],
            "email-claim": "mandatory",
            "email-claim-scope": [],
            "scope-claim": "no",
            "scope-claim-scope": [],
            "address-claim": {"type": "no", "mandatory": False},
            "claims": [
                {
                    "name": "email_verified",
                    "user-property": "email_verified",
                    "type": "boolean",
                    "boolean-value-true": "1",
                    "boolean-value-false": "0",
                    "mandatory": True,
                    "on-demand": False,
                    "scope": [],
                }
            ],
            "allowed-scope": ["openid"],
            "pkce-allowed": True,
            "pkce-method-plain-allowed": False,
            "pkce-required": True,
            "pkce-required-public-client": False,
            "pkce-scopes": [],
            "request-parameter-allow": False,
            "introspection-revocation-allowed": False,
            "register-client-allowed": False,
            "session-management-allowed": False,
            "encrypt-out-token-allow": False,
        }

    def add_user(
        self,
        username: str,
        password: str,
        email: str,
        email_verified: bool = True,
        name: str = "",
    ) -> None:
        check(
            self.admin.post(
                "/api/user/?source=database",
                json={
                    "username": username,
                    "password": password,
                    "name": name or username,
                    "email": email,
                    "enabled": True,
                    "scope": ["g_profile", *SCOPES],
                    "email_verified": "1" if email_verified else "0",
                },
            ),
            f"user {username}",
        )

    # --- a user at the provider --------------------------------------------------

    def sign_in(
        self, browser: httpx.Client, login_page: str, username: str, password: str
    ) -> str:
        """What Glewlwyd's login page (`login_page`, where its authorization
        endpoint sent the browser) does: sign in, consent to our client's
        scopes, then "Continue" to the authorization endpoint again; where
        that sends the browser (back to the client, with a code)."""
        params = parse_qs(urlsplit(login_page).query)
        callback = params["callback_url"][0]
        check(
            browser.post(
                f"{self.base}/api/auth/",
                json={"username": username, "password": password},
            ),
            "user sign-in",
        )
        scopes = " ".join(SCOPES)
        check(
            browser.get(f"{self.base}/api/auth/grant/{CLIENT_ID}/{scopes}"),
            "scopes to consent to",
        )
        check(
            browser.put(
                f"{self.base}/api/auth/grant/{CLIENT_ID}", json={"scope": scopes}
            ),
            "consent",
        )
        join = "&" if "?" in callback else "?"
        back = browser.get(f"{callback}{join}g_continue")
        if back.status_code != 302:
            raise RuntimeError(f"glewlwyd: no redirect after sign-in: {back.text}")
        return back.headers["location"]


def check(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(
            f"glewlwyd: {what} failed: {response.status_code} {response.text[:500]}"
        )
