"""The deployment files keep their contract: deploy/compose.yml, the Dockerfiles, deploy/k8s and the
Caddyfile parse and name what the deployment needs, hold no secret, and use only settings that
.env.example documents. Where a tool is on the machine it checks the files too (docker-compose
config, kubectl kustomize, caddy validate, an offline Kubernetes schema check); a missing tool skips
only its own test."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yml"
SERVICES = {"postgres", "redis", "rasa", "actions", "gateway", "proxy"}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY$|KEY$)")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
# Set by the images or by compose itself, not by the operator.
NOT_OPERATOR_SETTINGS = {"HEALTHCHECK_URL", "ACTION_SERVER_URL", "NLG_URL"}


def env_example() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def filled_env_file(tmp_path: Path) -> Path:
    """.env.example with placeholder values where the deployment wants one."""
    fill = {"PUBLIC_HOST": "chat.example.org", "ACME_EMAIL": "ops@example.org", "POSTGRES_PASSWORD": "pw-pg",
            "REDIS_PASSWORD": "pw-redis", "RASA_TOKEN": "tok", "TRACKER_ENCRYPTION_KEY": "k"}
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={fill[name]}" if name in fill and "=" in line else line)
    path = tmp_path / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------- compose


def test_compose_services_replicas_and_volumes() -> None:
    spec = compose()
    services = spec["services"]
    assert SERVICES <= set(services)
    assert services["rasa"]["deploy"]["replicas"] == 2
    assert services["gateway"]["deploy"]["replicas"] == 2
    for name in ("actions", "rasa", "gateway"):
        assert services[name]["env_file"] == ".env", name  # secrets from the env file
    assert {"pgdata", "models"} <= set(spec["volumes"])
    assert any(str(v).startswith("pgdata:") for v in services["postgres"]["volumes"])
    assert any(str(v).startswith("models:") for v in services["rasa"]["volumes"])
    # Only the proxy publishes ports; Rasa and the data stores are never exposed.
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert "443:443" in services["proxy"]["ports"]


def test_compose_health_checks_and_one_migration() -> None:
    services = compose()["services"]
    for name in SERVICES:
        assert "healthcheck" in services[name], name
    assert services["migrate"]["command"][-1] == "migrate"
    assert services["gateway"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    gateway_env = services["gateway"]["environment"]
    assert gateway_env["RUN_MIGRATIONS_ON_START"] == "false"
    rasa_env = services["rasa"]["environment"]
    assert rasa_env["TRACKER_STORE_URL"].startswith("postgresql://")
    assert rasa_env["LOCK_STORE_URL"].startswith("redis://")


def test_compose_restarts_every_long_running_service() -> None:
    """Docker starts a service again when its process exits (crash, OOM kill); only the one-shot
    migration is left stopped."""
    services = compose()["services"]
    for name, service in services.items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, name


def _environment_items(service: dict[str, Any]) -> list[tuple[str, str]]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return [tuple(item.split("=", 1)) if "=" in item else (item, "") for item in env]  # type: ignore[misc]
    return [(str(k), str(v)) for k, v in env.items()]


def test_compose_holds_no_secret_and_every_setting_is_documented() -> None:
    text = COMPOSE.read_text()
    documented = env_example()
    used = set(INTERPOLATION.findall(text))
    assert used, "compose.yml interpolates its secrets"
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"
    for name, service in compose()["services"].items():
        for key, value in _environment_items(service):
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(value) or value.startswith("$$"), f"{name}: {key} inline"
            # a password inside a URL comes from the env file too
            for password in re.findall(r"://[^:/@]*:([^@]+)@", value):
                assert INTERPOLATION.fullmatch(password), f"{name}: {key} has an inline password"
            if key not in NOT_OPERATOR_SETTINGS and key not in ("POSTGRES_USER", "POSTGRES_DB"):
                assert key in documented, f"{name}: {key} is not in .env.example"


def test_compose_config_accepts_the_file(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (Debian: apt-get install docker-compose)")
    # A copy beside its own filled-in .env (the operator's deploy/.env is never touched).
    work = tmp_path / "deploy"
    work.mkdir()
    shutil.copy(COMPOSE, work / "compose.yml")
    shutil.copy(filled_env_file(tmp_path), work / ".env")
    result = subprocess.run(  # noqa: S603
        [tool, "-f", str(work / "compose.yml"), "--env-file", str(work / ".env"), "config"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if k not in env_example()},
    )
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert rendered["services"]["rasa"]["environment"]["TRACKER_STORE_URL"] == (
        "postgresql://chatbot:pw-pg@postgres:5432/rasa")
    assert rendered["services"]["rasa"]["deploy"]["replicas"] == 2


# ---------------------------------------------------------------------------------- images


@pytest.mark.parametrize("name", ["rasa.Dockerfile", "gateway.Dockerfile"])
def test_dockerfiles_are_multi_stage_non_root_pinned_and_checked(name: str) -> None:
    text = (DEPLOY / name).read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE)
    assert len(stages) >= 2 and "runtime" in stages
    runtime = text.split("AS runtime", 1)[1]
    assert re.search(r"^USER\s+10001", runtime, flags=re.MULTILINE)
    assert "HEALTHCHECK" in runtime
    assert re.search(r"pip install .*-r /tmp/req/\w+\.txt -c /tmp/req/\w+-constraints\.txt", text)
    python = "3.10" if name.startswith("rasa") else "3.11"
    assert f"python:{python}-slim" in text
    for copied in re.findall(r"^COPY\s+(?:--(?!from)\S+\s+)*(?!--from)(.+)\s+\S+$", text, flags=re.MULTILINE):
        for source in copied.split():
            assert (ROOT / source).exists() or source in BUILT_BY_MAKE, \
                f"{name} copies {source}, which is not in the repository"


# What a Dockerfile may copy that `make` builds rather than the repository holds: the model of
# `make train`, which the Rasa image takes with MODEL_STAGE=trained.
BUILT_BY_MAKE = {"models/current.tar.gz"}


def _ignored(path: str, patterns: list[str]) -> bool:
    import fnmatch

    ignored = False
    for pattern in patterns:  # the last matching pattern wins, as in Docker's .dockerignore
        negated = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatch(prefix, bare) for prefix in prefixes):
            ignored = not negated
    return ignored


def test_the_build_context_leaves_out_environments_models_and_secrets_but_nothing_copied() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for kept_out in (".env", ".venv", ".venv-rasa", "node_modules", "models", "var", ".git"):
        assert _ignored(kept_out, patterns), f"{kept_out} would be sent to the image builder"
    for name in ("rasa.Dockerfile", "gateway.Dockerfile"):
        text = (DEPLOY / name).read_text()
        for copied in re.findall(r"^COPY\s+(?:--(?!from)\S+\s+)*(?!--from)(.+)\s+\S+$", text, flags=re.MULTILINE):
            for source in copied.split():
                assert not _ignored(source, patterns), f"{name} copies {source}, which .dockerignore leaves out"


def test_the_health_check_script_is_standard_library_only() -> None:
    source = (DEPLOY / "healthcheck.py").read_text()
    imports = set(re.findall(r"^import (\w+)", source, flags=re.MULTILINE))
    assert imports <= {"os", "sys", "urllib"}


# ---------------------------------------------------------------------------------- Kubernetes


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def test_k8s_deployments_have_probes_resources_and_replicas() -> None:
    deployments = by_kind("Deployment")
    assert {"rasa", "actions", "gateway", "redis"} <= set(deployments)
    assert deployments["rasa"]["spec"]["replicas"] == 2
    assert deployments["gateway"]["spec"]["replicas"] == 2
    for name, deployment in {**deployments, **by_kind("StatefulSet")}.items():
        # Kubernetes restarts their containers when they exit or fail the liveness probe.
        assert deployment["spec"]["template"]["spec"].get("restartPolicy", "Always") == "Always", name
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, name
            assert container["resources"]["requests"]["cpu"], name
            assert container["resources"]["requests"]["memory"], name
    for name in ("rasa", "actions", "gateway"):
        assert deployments[name]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_k8s_services_job_hpa_ingress_and_config() -> None:
    services = by_kind("Service")
    assert {"postgres", "redis", "rasa", "actions", "gateway"} <= set(services)
    job = by_kind("Job")["migrate"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "migrate"
    hpa = by_kind("HorizontalPodAutoscaler")["rasa"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "rasa"
    assert hpa["spec"]["minReplicas"] >= 2
    ingress = by_kind("Ingress")["gateway"]
    assert ingress["spec"]["tls"][0]["secretName"]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "gateway"
    config = by_kind("ConfigMap")["chatbot-config"]["data"]
    assert config["RUN_MIGRATIONS_ON_START"] == "false"


def test_k8s_holds_no_secret_and_every_setting_is_documented() -> None:
    assert not by_kind("Secret"), "secrets are created from the env file, never committed"
    documented = env_example()
    config = by_kind("ConfigMap")["chatbot-config"]["data"]
    for key, value in config.items():
        assert not SECRET_NAME.search(key), f"{key} belongs in the Secret"
        assert "@" not in str(value) or "://" not in str(value), f"{key}: a URL with credentials"
        if key not in NOT_OPERATOR_SETTINGS:
            assert key in documented, f"ConfigMap {key} is not in .env.example"
    for doc in manifests():
        for container in (doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])):
            for item in container.get("env", []):
                if SECRET_NAME.search(item["name"]):
                    assert "valueFrom" in item, f"{doc['metadata']['name']}: {item['name']} inline"
                    assert item["valueFrom"]["secretKeyRef"]["key"] in documented


def test_k8s_manifests_match_the_kubernetes_schema() -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="pip install -r requirements/deploy-check.txt"
    )
    version = "1.30.0"
    for doc in manifests():
        kubernetes_validate.validate(doc, version, strict=True)


def test_kustomize_renders_every_manifest() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    rendered = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True,  # noqa: S603
                              timeout=60, check=True).stdout
    kinds = [doc["kind"] for doc in yaml.safe_load_all(rendered) if doc]
    assert len(kinds) == len(manifests())


# ---------------------------------------------------------------------------------- proxy


def test_caddyfile_serves_tls_for_the_public_host_and_hides_nlg() -> None:
    text = (DEPLOY / "proxy" / "Caddyfile").read_text()
    assert "{$PUBLIC_HOST}" in text and "reverse_proxy" in text
    assert re.search(r"@internal path /nlg", text)
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (Debian: apt-get install caddy)")
    result = subprocess.run(  # noqa: S603
        [caddy, "validate", "--config", str(DEPLOY / "proxy" / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PUBLIC_HOST": "chat.example.org", "ACME_EMAIL": "ops@example.org"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
