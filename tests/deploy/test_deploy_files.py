"""The deployment files in deploy/ agree with the code and keep secrets out: both compose files
parse, name only real settings, take every secret from an env file; the cluster one has the
parts docs/deploy.md describes, and its nginx sends the webhook to every bot replica.

No Docker needed: the files are read as YAML (merge keys and all, as compose reads them) and as
text; `docker compose -f deploy/docker-compose.cluster.yml config` is the check with Docker."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hoptac.cli import build_parser
from hoptac.settings import Settings
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
REPO = DEPLOY.parent
SINGLE = DEPLOY / "docker-compose.yml"
CLUSTER = DEPLOY / "docker-compose.cluster.yml"
NGINX = DEPLOY / "nginx.cluster.conf"
ENV_EXAMPLES = [DEPLOY / "hoptac.env.example", DEPLOY / "hoptac.cluster.env.example"]

CLUSTER_SERVICES = {"postgres", "etcd", "minio", "milvus", "migrate", "bot-1", "bot-2", "worker", "proxy"}
BOT_REPLICAS = ["bot-1", "bot-2"]
# Names that hold a secret, in any service's environment: they belong in an env file.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY|DATABASE_URL|API_KEY", re.IGNORECASE)
# A URL with a password in it (scheme://user:password@host).
URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
# hoptac commands written by work in progress (issue 13), accepted before the parser has them.
PLANNED_COMMANDS: set[str] = set()  # `worker` has landed


def _compose(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict) and isinstance(document.get("services"), dict), f"{path.name}: no services"
    return document


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, in either of compose's two forms (mapping or KEY=VALUE list)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def _env_files(service: dict[str, Any]) -> list[str]:
    raw = service.get("env_file") or []
    items = [raw] if isinstance(raw, (str, dict)) else raw
    return [item if isinstance(item, str) else item["path"] for item in items]


def _example_assignments(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env example, commented-out ones included (they are documentation)."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def _hoptac_names(names: object) -> set[str]:
    return {name for name in names if isinstance(name, str) and name.startswith("HOPTAC_")}  # type: ignore[attr-defined]


SETTINGS_NAMES = {f"HOPTAC_{name.upper()}" for name in Settings.model_fields}


@pytest.mark.parametrize("path", [SINGLE, CLUSTER], ids=lambda p: p.name)
def test_every_hoptac_variable_a_compose_file_sets_is_a_setting(path: Path) -> None:
    for name, service in _compose(path)["services"].items():
        unknown = _hoptac_names(_environment(service)) - SETTINGS_NAMES
        assert not unknown, f"{path.name}, service {name}: {sorted(unknown)} are not fields of hoptac.settings.Settings"


@pytest.mark.parametrize("path", ENV_EXAMPLES, ids=lambda p: p.name)
def test_every_hoptac_variable_an_env_example_names_is_a_setting(path: Path) -> None:
    unknown = _hoptac_names(_example_assignments(path)) - SETTINGS_NAMES
    assert not unknown, f"{path.name}: {sorted(unknown)} are not fields of hoptac.settings.Settings"


@pytest.mark.parametrize("path", [SINGLE, CLUSTER], ids=lambda p: p.name)
def test_no_secret_is_written_in_a_compose_file(path: Path) -> None:
    for name, service in _compose(path)["services"].items():
        for key, value in _environment(service).items():
            assert not SECRET_NAME.search(key), f"{path.name}, service {name}: {key} belongs in the env file"
            assert not URL_WITH_PASSWORD.search(value), f"{path.name}, service {name}: {key} holds a password"
        for env_file in _env_files(service):
            assert not env_file.endswith(".example"), f"{path.name}, service {name}: reads the example, not a copy"
    assert not URL_WITH_PASSWORD.search(path.read_text(encoding="utf-8")), f"{path.name}: a URL with a password"


@pytest.mark.parametrize("path", ENV_EXAMPLES, ids=lambda p: p.name)
def test_env_examples_hold_no_real_secret(path: Path) -> None:
    for key, value in _example_assignments(path).items():
        if SECRET_NAME.search(key):
            password = URL_WITH_PASSWORD.search(value)
            assert value == "" or (password and "CHANGE-ME" in value), f"{path.name}: {key} has a value"


@pytest.mark.parametrize("path", [SINGLE, CLUSTER], ids=lambda p: p.name)
def test_the_env_files_compose_reads_are_never_committed(path: Path) -> None:
    ignored = set((REPO / ".gitignore").read_text(encoding="utf-8").split())
    for service in _compose(path)["services"].values():
        for env_file in _env_files(service):
            assert (DEPLOY / f"{env_file}.example").is_file(), f"{env_file}: no {env_file}.example beside it"
            assert f"deploy/{env_file}" in ignored, f"deploy/{env_file} is not in .gitignore"


def test_the_cluster_has_its_parts() -> None:
    services = _compose(CLUSTER)["services"]
    assert set(services) == CLUSTER_SERVICES
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["milvus"]["command"] == ["milvus", "run", "standalone"]
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["milvus"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["postgres"]["volumes"], "PostgreSQL's data needs a volume"


def test_hoptac_processes_run_real_commands_on_the_shared_parts() -> None:
    parser = build_parser()
    # argparse keeps the subcommands in the choices of the `command` action.
    commands = {choice for action in parser._actions if action.dest == "command" for choice in action.choices or ()}
    services = _compose(CLUSTER)["services"]
    for name in ["migrate", "worker", *BOT_REPLICAS]:
        command = services[name]["command"][0]
        assert command in commands | PLANNED_COMMANDS, f"{name}: `hoptac {command}` is no command"
        environment = _environment(services[name])
        assert environment["HOPTAC_SEARCH_URL"] == "http://milvus:19530", name
        assert "hoptac.cluster.env" in _env_files(services[name]), f"{name}: HOPTAC_DATABASE_URL comes from it"


def test_bot_replicas_wait_for_the_schema_and_the_stores_and_have_names_of_their_own() -> None:
    services = _compose(CLUSTER)["services"]
    names = []
    for replica in BOT_REPLICAS:
        service = services[replica]
        assert service["command"] == ["bot"]
        assert service["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "milvus": {"condition": "service_healthy"},
        }
        environment = _environment(service)
        names.append(environment["HOPTAC_REPLICA_NAME"])
        metrics_port = environment["HOPTAC_METRICS_PORT"]
        assert f":{metrics_port}/healthz" in " ".join(service["healthcheck"]["test"]), replica
        assert not service.get("ports"), f"{replica}: reached through the proxy only"
    assert len(set(names)) == len(BOT_REPLICAS), f"replica names must differ: {names}"


def test_the_worker_can_be_scaled() -> None:
    worker = _compose(CLUSTER)["services"]["worker"]
    # `--scale worker=N` fails on a fixed container name or a published host port.
    assert "container_name" not in worker and not worker.get("ports")
    assert worker["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_nginx_sends_the_webhook_to_every_replica() -> None:
    conf = NGINX.read_text(encoding="utf-8")
    services = _compose(CLUSTER)["services"]
    upstream = re.search(r"upstream\s+(\w+)\s*\{(.*?)\}", conf, re.DOTALL)
    assert upstream, "no upstream block"
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream.group(2), re.MULTILINE)
    expected = {(replica, _environment(services[replica])["HOPTAC_TELEGRAM_WEBHOOK_PORT"]) for replica in BOT_REPLICAS}
    assert set(servers) == expected
    assert f"proxy_pass http://{upstream.group(1)};" in conf
    assert re.search(r"proxy_next_upstream\s+error\s+timeout\s+http_503;", conf)
    assert "X-Telegram-Bot-Api-Secret-Token $http_x_telegram_bot_api_secret_token" in conf
    # The webhook's path in nginx is the path of the URL the replicas register.
    url = _example_assignments(DEPLOY / "hoptac.cluster.env.example")["HOPTAC_TELEGRAM_WEBHOOK_URL"]
    path = re.sub(r"^https://[^/]+", "", url)
    assert f"location = {path} " in conf
    for replica in BOT_REPLICAS:
        metrics_port = _environment(services[replica])["HOPTAC_METRICS_PORT"]
        assert f"proxy_pass http://$replica:{metrics_port}/healthz;" in conf
        assert f"location = /healthz/{replica} {{ set $replica {replica};" in conf
