"""The scale-out configuration in deploy/ agrees with itself and the code.

Docker is not available where these tests run, so the images are never built
here; this checks what can be checked without it: the compose file parses and
has the shape the README describes, every variable is defined and explained in
the env example, the Dockerfiles copy files that exist, nginx balances over
every Rasa server without stickiness. test_stores.py runs deploy/endpoints.yml
itself against real PostgreSQL and Redis servers.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from polkuopas.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yml"
ENDPOINTS = DEPLOY / "endpoints.yml"
ENV_EXAMPLE = DEPLOY / "polkuopas.env.example"
NGINX = DEPLOY / "nginx.conf"
RASA_START = DEPLOY / "rasa-start.sh"
DOCKERFILES = [DEPLOY / "rasa.Dockerfile", DEPLOY / "app.Dockerfile"]
SECRETS = {
    "POLKUOPAS_ACTION_SECRET",
    "TRACKER_DB_PASSWORD",
    "LOCK_STORE_PASSWORD",
    "CLIENT_DB_PASSWORD",
}
POSTGRES_INIT = DEPLOY / "postgres-init.sh"
APP_SERVICES = ("action", "web", "store-init", "cli")
SETTINGS = {f"POLKUOPAS_{name.upper()}" for name in Settings.model_fields}

# ${VAR}, ${VAR:-default}, ${VAR:?message}; not $${...} (a literal $ in compose).
COMPOSE_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
SHELL_VAR = re.compile(r"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def code(path: Path) -> str:
    """The file without its comment lines (YAML, shell)."""
    lines = path.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, dict]:
    return compose()["services"]


def rasa_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in services().items()
        if service.get("build", {}).get("dockerfile") == "deploy/rasa.Dockerfile"
    }


def env_example() -> dict[str, str]:
    found = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), (
            f"{ENV_EXAMPLE.name}:{number}: not NAME=value: {line!r}"
        )
        assert name not in found, f"{ENV_EXAMPLE.name}: {name} twice"
        found[name] = value
    return found


def explained(name: str) -> bool:
    """The variable's line, or the block it belongs to, has a comment above."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}="))
    while index > 0 and lines[index - 1].strip() and "=" in lines[index - 1]:
        if lines[index - 1].startswith("#"):
            break
        index -= 1
    return index > 0 and lines[index - 1].startswith("#")


def test_compose_has_the_documented_shape():
    found = services()
    assert {"lb", "action", "web", "postgres", "redis", "store-init", "cli"} <= set(
        found
    )
    assert len(rasa_services()) >= 2, "at least two Rasa servers"
    assert found["action"]["deploy"]["replicas"] >= 2, "at least two action servers"
    assert found["postgres"]["image"].startswith("postgres:")
    assert found["redis"]["image"].startswith("redis:")
    assert found["lb"]["image"].startswith("nginx:")
    # Only the load balancer is reachable from outside.
    published = {name for name, service in found.items() if service.get("ports")}
    assert published == {"lb"}
    for name in rasa_services():
        needs = found[name]["depends_on"]
        assert {"postgres", "redis", "store-init", "action"} <= set(needs), name


def test_every_variable_is_in_the_env_example_and_used():
    example = set(env_example())
    used_by_compose = set(COMPOSE_VAR.findall(code(COMPOSE)))
    used_by_endpoints = set(COMPOSE_VAR.findall(code(ENDPOINTS)))
    assert used_by_compose - example == set(), "used in compose.yml, not explained"
    assert used_by_endpoints - example == set(), "used in endpoints.yml, not explained"
    assert example - used_by_compose == set(), "in the env example, used nowhere"


def test_every_variable_in_the_env_example_is_explained():
    unexplained = [name for name in env_example() if not explained(name)]
    assert unexplained == []


def test_rasa_servers_get_every_variable_they_read():
    needed = set(COMPOSE_VAR.findall(code(ENDPOINTS)))
    needed |= set(SHELL_VAR.findall(code(RASA_START)))
    for name, service in rasa_services().items():
        assert needed - set(service["environment"]) == set(), name


def test_polkuopas_variables_are_real_settings():
    names = set(env_example())
    for service in services().values():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), "environment as a mapping"
        names |= set(environment)
    for dockerfile in DOCKERFILES:
        names |= set(re.findall(r"\b(POLKUOPAS_[A-Z_]+)=", dockerfile.read_text()))
    polkuopas = {name for name in names if name.startswith("POLKUOPAS_")}
    assert polkuopas - SETTINGS == set()


def test_secrets_are_required_and_never_defaulted():
    example = env_example()
    text = COMPOSE.read_text()
    for secret in SECRETS:
        assert example[secret] == "", f"{secret} must be empty in the example"
        uses = re.findall(r"\$\{" + secret + r"([^}]*)\}", text)
        assert uses, secret
        assert all(use.startswith(":?") for use in uses), f"{secret}: {uses}"


def test_endpoints_are_what_rasa_expands_and_accepts():
    text = ENDPOINTS.read_text()
    # Rasa 3.6 leaves "${VAR}" in quotes as it is: the values must be plain.
    assert not re.search(r"""["']\$\{""", text), "a quoted ${VAR} is not expanded"
    endpoints = yaml.safe_load(text)
    tracker = endpoints["tracker_store"]
    assert tracker["type"] == "polkuopas_rasa.trackerstore.CachedSQLTrackerStore"
    assert tracker["dialect"] == "postgresql"
    # Several Rasa servers on one database: the cache checks the table first.
    assert tracker["shared"] is True and tracker.get("cache_size", 1) > 0
    assert (
        endpoints["lock_store"]["type"]
        == "polkuopas_rasa.lockstore.AtomicRedisLockStore"
    )
    # Rasa's Redis lock store takes an alphanumeric key prefix only.
    assert endpoints["lock_store"]["key_prefix"].isalnum()
    assert set(endpoints) == {"action_endpoint", "tracker_store", "lock_store"}


def test_action_endpoint_is_the_action_service():
    url = urlsplit(env_example()["POLKUOPAS_ACTION_URL"])
    action = services()["action"]
    assert url.hostname == "action"
    assert url.port == int(action["environment"]["POLKUOPAS_ACTION_PORT"])
    assert url.path == "/webhook"
    assert f"${{POLKUOPAS_ACTION_URL:-{url.geturl()}}}" in COMPOSE.read_text()


def copy_sources(dockerfile: Path) -> list[str]:
    sources = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if not words or words[0].upper() not in {"COPY", "ADD"}:
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        assert not any(w.startswith("--from") for w in words), "no multi-stage here"
        sources += args[:-1]
    return sources


def allowed_by(ignore: Path, source: str) -> bool:
    """The allowlist .dockerignore files here: `*`, then `!path` entries."""
    patterns = [
        line.strip()
        for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", f"{ignore.name}: starts with * (an allowlist)"
    source = source.rstrip("/")
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    return any(source == a or source.startswith(a + "/") for a in allowed)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_copy_files_that_exist_and_are_in_the_context(dockerfile):
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    assert ignore.exists()
    sources = copy_sources(dockerfile)
    assert sources
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), f"{dockerfile.name}: {source}"
        assert allowed_by(ignore, source), f"{ignore.name} leaves out {source}"


@pytest.mark.parametrize(
    ("dockerfile", "then"),
    [
        (DEPLOY / "rasa.Dockerfile", r"--requirement bot/requirements\.txt"),
        (DEPLOY / "app.Dockerfile", r"pip install --no-cache-dir \.(?:\s|$)"),
    ],
    ids=["rasa.Dockerfile", "app.Dockerfile"],
)
def test_both_images_install_the_contract_before_what_needs_it(dockerfile, then):
    # From the repository, not an index: the same code on both sides.
    text = " ".join(run_commands(dockerfile))
    contract = text.find("pip install --no-cache-dir ./actions/contract")
    after = re.search(then, text)
    assert after and 0 <= contract < after.start(), dockerfile.name
    copied = [source.rstrip("/") + "/" for source in copy_sources(dockerfile)]
    assert any("actions/contract/".startswith(source) for source in copied)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_images_leave_the_benchmarks_out(dockerfile):
    # benchmarks/ (bench, load test, NLU evaluation, rasa_sdk adapter) is for
    # developers: nothing of it goes into an image's build context.
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    files = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in (PROJECT_ROOT / "benchmarks").rglob("*.py")
    ]
    assert files
    assert [f for f in files if allowed_by(ignore, f)] == []


def run_commands(dockerfile: Path) -> list[str]:
    """The shell-form RUN instructions, continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    return [line.strip()[4:] for line in text.splitlines() if line.startswith("RUN ")]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_shell_commands_parse(dockerfile):
    commands = run_commands(dockerfile)
    assert commands
    for command in commands:
        syntax = subprocess.run(["sh", "-n", "-c", command], capture_output=True)
        assert syntax.returncode == 0, (command, syntax.stderr)


def test_compose_builds_from_the_repository_root():
    for name, service in services().items():
        build = service.get("build")
        if build is None:
            continue
        assert (COMPOSE.parent / build["context"]).resolve() == PROJECT_ROOT, name
        assert (PROJECT_ROOT / build["dockerfile"]).exists(), name


def test_rasa_image_trains_the_model_the_start_script_runs():
    dockerfile = (DEPLOY / "rasa.Dockerfile").read_text()
    start = RASA_START.read_text()
    assert "--out bot/models --fixed-model-name polkuopas" in dockerfile
    assert "--model bot/models/polkuopas.tar.gz" in start
    assert "--endpoints deploy/endpoints.yml" in start
    assert "--credentials bot/credentials.yml" in start
    assert "--port 5005" in start
    assert "--enable-api" not in start, "no Rasa HTTP API"
    assert 'CMD ["sh", "deploy/rasa-start.sh"]' in dockerfile
    syntax = subprocess.run(["sh", "-n", str(RASA_START)], capture_output=True)
    assert syntax.returncode == 0, syntax.stderr


def nginx_upstream(name: str) -> list[str]:
    text = NGINX.read_text()
    block = re.search(r"upstream\s+" + name + r"\s*\{(.*?)\}", text, re.DOTALL)
    assert block, f"no upstream {name}"
    return block.group(1).split("\n")


def test_nginx_balances_every_rasa_server_without_stickiness():
    lines = nginx_upstream("rasa")
    servers = {
        m.group(1) for line in lines if (m := re.match(r"\s*server\s+([^\s;]+)", line))
    }
    assert servers == {f"{name}:5005" for name in rasa_services()}
    code = [line.split("#")[0] for line in lines]
    for sticky in ("ip_hash", "hash ", "sticky"):
        assert not any(sticky in line for line in code), sticky
    web = {
        m.group(1)
        for line in nginx_upstream("web")
        if (m := re.match(r"\s*server\s+([^\s;]+)", line))
    }
    port = services()["web"]["environment"]["POLKUOPAS_WEB_PORT"]
    assert web == {f"web:{port}"}
    text = NGINX.read_text()
    assert "location /webhooks/" in text and "proxy_pass http://rasa;" in text
    assert re.search(r"listen\s+8080;", text)
    assert services()["lb"]["ports"] == ["${PUBLIC_PORT:-8080}:8080"]


def test_servers_see_the_clients_address_for_the_rate_limits():
    # nginx sends one address, replacing what the client sent (so it cannot be
    # forged), and both servers take it from there.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in NGINX.read_text()
    for name, service in rasa_services().items():
        assert service["environment"]["SANIC_PROXIES_COUNT"] == "1", name
    assert services()["web"]["environment"]["FORWARDED_ALLOW_IPS"] == "*"


def test_compose_defaults_match_the_env_example():
    example = env_example()
    for name, default in re.findall(
        r"\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}", COMPOSE.read_text()
    ):
        assert example[name] == default, name


def expanded(value: str, **overrides: str) -> str:
    """A compose value with ${VAR...} from the env example (and overrides)."""
    values = {**env_example(), **overrides}
    return re.sub(
        r"\$\{([A-Z_][A-Z0-9_]*)(?::[-?][^}]*)?\}", lambda m: values[m[1]], value
    )


def test_every_server_uses_the_client_store_on_postgres():
    found = services()
    urls = {
        name: found[name]["environment"]["POLKUOPAS_DB"]
        for name in [*APP_SERVICES, *rasa_services()]
    }
    assert len(set(urls.values())) == 1, urls
    url = urlsplit(expanded(next(iter(urls.values())), CLIENT_DB_PASSWORD="pw0"))
    assert (url.scheme, url.hostname, url.port, url.path) == (
        "postgresql",
        "postgres",
        5432,
        "/polkuopas",
    )
    assert (url.username, url.password, url.query) == (
        "polkuopas",
        "pw0",
        "sslmode=prefer",
    )
    assert Settings(db=url.geturl()).db == url.geturl()
    # No SQLite file shared on a volume any more.
    for name in [*APP_SERVICES, *rasa_services()]:
        assert not found[name].get("volumes"), name
    assert set(compose()["volumes"]) == {"trackerdb"}
    for name in ("store-init", *rasa_services()):
        assert "postgres" in found[name]["depends_on"], name


def test_postgres_creates_the_client_store_on_its_first_start():
    postgres = services()["postgres"]
    mount = f"./{POSTGRES_INIT.name}:/docker-entrypoint-initdb.d/"
    assert any(str(v).startswith(mount) for v in postgres["volumes"])
    assert {"CLIENT_DB_NAME", "CLIENT_DB_USER", "CLIENT_DB_PASSWORD"} <= set(
        postgres["environment"]
    )
    assert POSTGRES_INIT.stat().st_mode & 0o111, "executable (else it is sourced)"
    syntax = subprocess.run(["sh", "-n", str(POSTGRES_INIT)], capture_output=True)
    assert syntax.returncode == 0, syntax.stderr
