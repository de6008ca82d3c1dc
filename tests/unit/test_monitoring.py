"""What Prometheus and Grafana are given (deploy/monitoring, the pods' annotations), checked against what the
services really expose: the dashboard's queries name only series and label values a scrape returns."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Stack
from tests.unit.test_k8s import SERVICES, Manifests, deployment_container, port_of, route_paths
from tests.unit.test_k8s import manifests as manifests  # the fixture

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
NAMESPACE = "assured-tour"
TARGET_LABELS = {"service", "pod", "namespace"}  # set by the scrape configuration, not by the services
KEYWORDS = {"by", "without", "offset", "and", "or", "unless", "bool", "on", "ignoring", "group_left", "group_right"}


def dashboard() -> dict[str, Any]:
    return json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))


def queries() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard()["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def series_named(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(metric, [(label, operator, value)]) of every selector in a PromQL expression."""
    expr = re.sub(r"\[[^\]]*\]", "", expr.replace("$namespace", NAMESPACE))  # no range selectors
    found = []
    for match in re.finditer(r"(?<![\w.:])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?", expr):
        name, braces = match[1], match[2] or ""
        after = "" if braces else expr[match.end() :].lstrip()
        function = after.startswith("(") or re.match(r"(by|without)\s*\(", after)
        if name in KEYWORDS or function or is_grouping(expr, match.start()):
            continue
        matchers = re.findall(r'(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"', braces)
        found.append((name, matchers))
    return found


def is_grouping(expr: str, at: int) -> bool:
    """Whether position `at` is inside `by (...)` / `without (...)`, where names are labels."""
    before = expr[:at]
    opened = max(before.rfind(" by ("), before.rfind("without ("))
    return opened != -1 and ")" not in expr[opened:at]


async def scraped(stack: Stack) -> dict[str, dict[str, set[str]]]:
    """Series name -> label -> values seen, over the four services' /metrics; a labelled series that has no
    sample yet (no scheduler pass ran) is there with its label names and no values."""
    seen: dict[str, dict[str, set[str]]] = {}
    for app in stack.apps.values():
        for collector, names in app.state.metrics.registry._collector_to_names.items():
            for name in names:
                labels = seen.setdefault(name, {})
                for label in (*getattr(collector, "_labelnames", ()), *(("le",) if name.endswith("_bucket") else ())):
                    labels.setdefault(label, set())
    for client in stack.clients.values():
        response = await client.get("/metrics")
        assert response.status_code == 200
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                labels = seen.setdefault(sample.name, {})
                for key, value in sample.labels.items():
                    labels.setdefault(key, set()).add(value)
    return seen


async def test_the_dashboard_queries_only_series_and_labels_the_services_expose(stack: Stack) -> None:
    exposed = await scraped(stack)
    board = dashboard()
    assert board["uid"] and board["title"] and board["templating"]["list"][0]["type"] == "datasource"
    titles = " ".join(panel["title"].lower() for panel in board["panels"])
    for topic in ("deadlines", "undelivered events", "payouts"):
        assert topic in titles, f"the dashboard shows {topic}"
    named = set()
    for title, expr in queries():
        selectors = series_named(expr)
        assert selectors, f"{title}: {expr}"
        for name, matchers in selectors:
            assert name in exposed, f"{title}: no service exposes {name}"
            named.add(name)
            for label, operator, value in matchers:
                if label in TARGET_LABELS:
                    continue
                assert label in exposed[name], f"{title}: {name} has no label {label}"
                if operator == "=~" and re.search(r"[.*+?\[\]()]", value):
                    continue  # a pattern, not values
                if operator in ("=", "=~") and exposed[name][label]:
                    for alternative in value.split("|"):
                        assert alternative in exposed[name][label], f"{title}: {name}{{{label}={alternative!r}}}"
    assert {"sla_deadlines_due", "outbox_backlog", "payouts", "db_pool_waiting"} <= named


def test_the_scrape_configuration_finds_the_four_services_on_their_metrics_port(manifests: Manifests) -> None:
    (job,) = yaml.safe_load((MONITORING / "scrape-configs.yaml").read_text(encoding="utf-8"))["scrape_configs"]
    (sd,) = job["kubernetes_sd_configs"]
    assert sd["role"] == "pod" and sd["namespaces"]["names"] == [NAMESPACE]
    keep = {r["source_labels"][0]: r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"}
    assert set(keep["__meta_kubernetes_pod_label_app_kubernetes_io_name"].split("|")) == set(SERVICES)
    targets = {r["target_label"] for r in job["relabel_configs"] if "target_label" in r}
    assert TARGET_LABELS <= targets, "the labels the dashboard groups by"
    monitor = yaml.safe_load((MONITORING / "podmonitor.yaml").read_text(encoding="utf-8"))
    (expression,) = monitor["spec"]["selector"]["matchExpressions"]
    assert expression["key"] == "app.kubernetes.io/name" and set(expression["values"]) == set(SERVICES)
    assert monitor["metadata"]["namespace"] == NAMESPACE
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    for service in SERVICES:
        deployment = manifests.get("Deployment", service)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        c = deployment_container(manifests, service)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert annotations["prometheus.io/scrape"] == "true", service
        assert ports[keep["__meta_kubernetes_pod_container_port_name"]] == port_of(service), service
        assert ports[endpoint["port"]] == int(annotations["prometheus.io/port"]) == port_of(service), service
        app = importlib.import_module(f"services.{service}.main").create_app()
        assert job["metrics_path"] == endpoint["path"] == annotations["prometheus.io/path"] == "/metrics"
        assert "/metrics" in route_paths(app), service
        assert labels["app.kubernetes.io/name"] == service
