"""deploy/helm/claude-slack-bot: `helm lint` and `helm template` through Helm's own Go SDK (the
helm-python-sdk wheel bundles it), every rendered manifest checked against Kubernetes' JSON
schemas (kubernetes-validate, strict: unknown fields are errors), and what the chart promises
checked on the rendered objects. Needs the `deploy` extra (CI installs it; locally
`uv sync --extra dev --extra deploy`), else skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.metrics.registry import BotMetrics

helm = pytest.importorskip("helm_python", reason="the deploy extra is not installed")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "claude-slack-bot"
KUBERNETES_VERSIONS = ("1.25.0", "1.37.0")  # the chart's kubeVersion floor and the newest schema
TOKENS = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "ANTHROPIC_API_KEY", "SLACK_SIGNING_SECRET"}

SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "http with ingress and in-flight autoscaling": {
        "mode": "http",
        "ingress": {"enabled": True, "className": "nginx", "tls": [{"secretName": "t"}]},
        "autoscaling": {"answersInFlight": {"enabled": True}},
        "redis": {"urlFromSecret": False, "url": "rediss+cluster://cfg.cache.example:6379"},
    },
    "bundled redis with a password": {
        "redis": {
            "urlFromSecret": False,
            "bundled": {"enabled": True, "passwordSecret": {"name": "redis-auth"}},
        },
        "autoscaling": {"enabled": False},
        "replicaCount": 3,
    },
    "bundled redis without a password": {
        "redis": {"urlFromSecret": False, "bundled": {"enabled": True}},
    },
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """`helm template` of the chart: every object it renders."""
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name="csb", namespace="bots", is_install=True)
    docs = []
    for path, text in manifests.items():
        if path.endswith(".yaml"):
            docs += [doc for doc in yaml.safe_load_all(text) if doc]
    return docs


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The rendered objects of one kind."""
    return [doc for doc in docs if doc["kind"] == kind]


def bot_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The bot's container in the Deployment."""
    [deployment] = of_kind(docs, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_helm_lint_is_clean(scenario: str) -> None:
    """`helm lint --strict` finds no error or warning (values checked by values.schema.json)."""
    report = helm.lint(str(CHART), SCENARIOS[scenario], strict=True)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == []
    assert report["errors"] == []


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_rendered_manifests_match_the_kubernetes_schemas(scenario: str, version: str) -> None:
    """Every object `helm template` renders is valid for Kubernetes (strict schemas)."""
    docs = render(SCENARIOS[scenario])
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_deployment_is_locked_down_and_probed() -> None:
    """Non-root, read-only root filesystem, no privilege escalation, probes on /healthz, a
    termination grace above the bot's shutdown grace, tokens only from the Secret."""
    docs = render({})
    [deployment] = of_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = bot_container(docs)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    env = {item["name"]: item for item in container["env"]}
    grace = int(env["BOT_SHUTDOWN_GRACE_SECONDS"]["value"])
    assert pod["terminationGracePeriodSeconds"] > grace
    for name in TOKENS & env.keys():
        assert "value" not in env[name]
        assert env[name]["valueFrom"]["secretKeyRef"]["key"] == name
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["key"] == "REDIS_URL"
    assert {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "ANTHROPIC_API_KEY"} <= env.keys()
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/data", "/tmp"} <= mounts


def test_defaults_scale_on_cpu_keep_one_pod_and_bundle_no_redis() -> None:
    """By default: an HPA on CPU, a PodDisruptionBudget, no Ingress, no bundled Redis, and a
    Service with only the metrics port (socket mode needs no inbound port)."""
    docs = render({})
    [hpa] = of_kind(docs, "HorizontalPodAutoscaler")
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert of_kind(docs, "PodDisruptionBudget")
    assert not of_kind(docs, "Ingress")
    assert not of_kind(docs, "StatefulSet")
    [service] = of_kind(docs, "Service")
    assert [p["name"] for p in service["spec"]["ports"]] == ["metrics"]


def test_http_mode_gets_a_service_port_an_ingress_and_the_in_flight_metric() -> None:
    """In HTTP mode the Service forwards to the bot's port, the Ingress exposes only /slack/,
    the signing secret replaces the app token, and the HPA also scales on the bot's own
    csb_answers_in_flight gauge (the name /metrics exports)."""
    docs = render(SCENARIOS["http with ingress and in-flight autoscaling"])
    [service] = of_kind(docs, "Service")
    assert {p["name"] for p in service["spec"]["ports"]} == {"http", "metrics"}
    [ingress] = of_kind(docs, "Ingress")
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/slack/"
    env = {item["name"] for item in bot_container(docs)["env"]}
    assert "SLACK_SIGNING_SECRET" in env
    assert "SLACK_APP_TOKEN" not in env
    [hpa] = of_kind(docs, "HorizontalPodAutoscaler")
    [pods_metric] = [m for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    name = pods_metric["pods"]["metric"]["name"]
    exported = BotMetrics().exposition().decode()
    assert f"\n{name} " in exported or exported.startswith(f"{name} ")


def test_bundled_redis_never_evicts_and_is_reachable_only_as_configured() -> None:
    """The optional bundled Redis runs with maxmemory-policy noeviction and an append-only
    file; with a password the bot's REDIS_URL carries it, without one a NetworkPolicy admits
    only the bot's pods."""
    docs = render(SCENARIOS["bundled redis with a password"])
    [statefulset] = of_kind(docs, "StatefulSet")
    [redis] = statefulset["spec"]["template"]["spec"]["containers"]
    assert "--maxmemory-policy noeviction" in redis["args"][0]
    assert "--appendonly yes" in redis["args"][0]
    env = {item["name"]: item for item in bot_container(docs)["env"]}
    assert env["REDIS_URL"]["value"].startswith("redis://:$(REDIS_PASSWORD)@csb-claude-slack-bot")
    assert not of_kind(docs, "NetworkPolicy")
    open_docs = render(SCENARIOS["bundled redis without a password"])
    [policy] = of_kind(open_docs, "NetworkPolicy")
    selector = policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "bot"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"terminationGracePeriodSeconds": 20}, "above bot.shutdownGraceSeconds"),
        ({"autoscaling": {"maxReplicas": 11}}, "at most 10 in socket mode"),
        ({"redis": {"url": "redis://r:6379"}}, "exactly one of redis.url"),
    ],
)
def test_settings_that_cannot_work_stop_the_render(values: dict[str, Any], message: str) -> None:
    """A termination grace the shutdown grace does not fit in, more Socket Mode replicas than
    Slack accepts, or two Redis sources: `helm template` fails, saying why."""
    with pytest.raises(helm.HelmRenderError, match=message):
        render(values)


def test_values_yaml_is_what_the_chart_documents() -> None:
    """values.yaml parses and names no token value (tokens only come from the Secret)."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    flat = yaml.safe_dump(values)
    for token_prefix in ("xoxb-", "xapp-", "sk-ant-"):
        assert token_prefix not in flat
