"""The NetworkPolicies of deploy/k8s, evaluated as data: which pod may open a connection to which, on
which port. The allowed calls between services are derived from the code (the event subscriptions and
the internal calls), so a new subscription fails here until the policies allow it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.contracts.events import SUBSCRIPTIONS
from tests.unit.test_k8s import SERVICES, Manifests, deployment_container
from tests.unit.test_k8s import manifests as manifests  # the fixture

NAMESPACE = "assured-tour"
# Who emits each family of events (the producer of an envelope is the service whose outbox wrote it).
PRODUCERS = {
    "complaint.": "intake",
    "compensation.": "intake",
    "claim.": "compensation",
    "payout.": "compensation",
    "recovery.": "compensation",
    "subject.": "credit",
}
# Calls of one service's internal routes by another, beside event deliveries (services/*/: `clients[...]`).
INTERNAL_CALLS = {
    ("compensation", "gateway"),  # POST /internal/payees (services/compensation/payouts.py)
    ("gateway", "intake"),
}  # POST /internal/notification-outcomes (services/gateway/notifications.py)
POSTGRES, DNS, HTTPS = 5432, 53, 443


@dataclass(frozen=True)
class Pod:
    name: str
    labels: dict[str, str]
    namespace: str = NAMESPACE
    namespace_labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.name, self.namespace))


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels is evaluated here: {selector}"
    return selector.get("matchLabels", {}).items() <= labels.items()


def peer_matches(peer: dict[str, Any], policy_namespace: str, source: Pod) -> bool:
    assert "ipBlock" not in peer, "no address blocks: pods are named by their labels"
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], source.namespace_labels):
            return False
    elif source.namespace != policy_namespace:
        return False  # a bare podSelector names pods of the policy's own namespace
    return selects(peer.get("podSelector", {}), source.labels)


def port_matches(rule_ports: list[dict[str, Any]] | None, target: Pod, port: int, protocol: str = "TCP") -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        number = target.ports.get(p["port"], p["port"]) if isinstance(p.get("port"), str) else p.get("port")
        if p.get("protocol", "TCP") == protocol and (number is None or number == port):
            return True
    return False


def policies(m: Manifests, kind: str, pod: Pod) -> list[dict[str, Any]]:
    """The policies of `kind` (Ingress or Egress) that select the pod."""
    return [
        p
        for p in m.of("NetworkPolicy").values()
        if p["metadata"]["namespace"] == pod.namespace
        and kind in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], pod.labels)
    ]


def may_connect(m: Manifests, source: Pod, target: Pod, port: int, protocol: str = "TCP") -> bool:
    """Kubernetes' rule: a connection needs the target's ingress and the source's egress to allow it (a pod no
    policy of that direction selects allows everything in that direction)."""
    ingress = policies(m, "Ingress", target)
    allowed_in = not ingress or any(
        any(peer_matches(peer, target.namespace, source) for peer in rule.get("from", [{"namespaceSelector": {}}]))
        and port_matches(rule.get("ports"), target, port, protocol)
        for policy in ingress
        for rule in policy["spec"].get("ingress", [])
    )
    egress = policies(m, "Egress", source)
    allowed_out = not egress or any(
        any(peer_matches(peer, source.namespace, target) for peer in rule.get("to", [{"namespaceSelector": {}}]))
        and port_matches(rule.get("ports"), target, port, protocol)
        for policy in egress
        for rule in policy["spec"].get("egress", [])
    )
    return allowed_in and allowed_out


def namespace_labels(m: Manifests) -> dict[str, str]:
    (namespace,) = m.of("Namespace").values()
    return {**namespace["metadata"].get("labels", {}), "kubernetes.io/metadata.name": namespace["metadata"]["name"]}


def workload_pods(m: Manifests) -> dict[str, Pod]:
    """Every pod the manifests run, by workload name, with its labels and named ports."""
    pods = {}
    for d in m.docs:
        if d["kind"] in ("Deployment", "Job"):
            template = d["spec"]["template"]
        elif d["kind"] == "CronJob":
            template = d["spec"]["jobTemplate"]["spec"]["template"]
        else:
            continue
        ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"]["containers"]
            for p in c.get("ports", [])
            if "name" in p
        }
        pods[d["metadata"]["name"]] = Pod(
            d["metadata"]["name"], template["metadata"]["labels"], namespace_labels=namespace_labels(m), ports=ports
        )
    return pods


def outside(name: str, namespace: str, labels: dict[str, str]) -> Pod:
    return Pod(name, labels, namespace, {"kubernetes.io/metadata.name": namespace})


INGRESS_CONTROLLER = outside("ingress-nginx", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
PROMETHEUS = outside("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
GRAFANA = outside("grafana", "monitoring", {"app.kubernetes.io/name": "grafana"})
STRANGER = outside("stranger", "default", {"app.kubernetes.io/name": "intake"})  # a look-alike elsewhere


def service_port(m: Manifests, service: str) -> int:
    (port,) = [p["containerPort"] for p in deployment_container(m, service)["ports"]]
    return port


def expected_calls() -> set[tuple[str, str]]:
    """(caller, callee) between the services: the gateway's proxy, event deliveries, internal calls."""
    calls = {("gateway", s) for s in SERVICES if s != "gateway"} | INTERNAL_CALLS
    for event_type, subscribers in SUBSCRIPTIONS.items():
        producer = next((p for prefix, p in PRODUCERS.items() if event_type.startswith(prefix)), None)
        assert producer is not None, f"name the producer of {event_type} in PRODUCERS"
        calls |= {(producer, s) for s in subscribers if s != producer}
    return calls


@pytest.fixture(scope="module")
def pods(manifests: Manifests) -> dict[str, Pod]:
    found = workload_pods(manifests)
    assert set(SERVICES) <= set(found) and {"migrate", "reconcile"} <= set(found), set(found)
    return found


def test_every_pod_of_the_namespace_refuses_what_no_policy_allows(manifests: Manifests, pods: dict[str, Pod]) -> None:
    deny = [p["spec"] for p in manifests.of("NetworkPolicy").values()]
    deny = [s for s in deny if s["podSelector"] == {} and s["policyTypes"] == ["Ingress"] and not s.get("ingress")]
    assert deny, "a default-deny ingress policy for every pod of the namespace"
    for name, pod in pods.items():
        assert policies(manifests, "Ingress", pod), f"{name} is selected by no ingress policy"


def test_only_the_gateway_and_the_event_producers_reach_a_service(manifests: Manifests, pods: dict[str, Pod]) -> None:
    allowed = expected_calls()
    problems = []
    for callee in SERVICES:
        port = service_port(manifests, callee)
        for caller, source in pods.items():
            expected = (caller, callee) in allowed
            if may_connect(manifests, source, pods[callee], port) != expected:
                problems.append(f"{caller} -> {callee}:{port} should be {'allowed' if expected else 'refused'}")
        for source in (STRANGER, GRAFANA):
            if may_connect(manifests, source, pods[callee], port):
                problems.append(f"{source.namespace}/{source.name} -> {callee} should be refused")
        if (callee == "gateway") != may_connect(manifests, INGRESS_CONTROLLER, pods[callee], port):
            problems.append(f"the ingress controller -> {callee}: {'only' if callee == 'gateway' else 'not'} this")
    assert not problems, "\n".join(problems)


def test_prometheus_scrapes_every_service_on_its_port_and_nothing_else(
    manifests: Manifests, pods: dict[str, Pod]
) -> None:
    for service in SERVICES:
        port = service_port(manifests, service)
        assert may_connect(manifests, PROMETHEUS, pods[service], port), service
        assert not may_connect(manifests, PROMETHEUS, pods[service], port + 1), f"{service}: another port"
    for job in ("migrate", "reconcile"):
        assert not may_connect(manifests, PROMETHEUS, pods[job], 8000), job


def test_the_jobs_reach_dns_and_postgresql_and_the_reconciliation_the_providers(
    manifests: Manifests, pods: dict[str, Pod]
) -> None:
    database = outside("postgres", "databases", {"app": "postgresql"})
    for job, extra in (("migrate", set()), ("reconcile", {HTTPS})):
        pod = pods[job]
        assert policies(manifests, "Egress", pod), f"{job}: its egress is limited"
        assert may_connect(manifests, pod, database, POSTGRES), job
        assert may_connect(manifests, pod, database, DNS, "UDP") and may_connect(manifests, pod, database, DNS), job
        assert may_connect(manifests, pod, outside("provider", "internet", {}), HTTPS) == (HTTPS in extra), job
        for service in SERVICES:  # neither calls a service
            assert not may_connect(manifests, pod, pods[service], service_port(manifests, service)), (job, service)


def test_the_evaluator_reads_the_policies_as_kubernetes_does(manifests: Manifests, pods: dict[str, Pod]) -> None:
    """The evaluation above, checked on a policy set that allows everything and one that allows nothing."""
    intake, gateway = pods["intake"], pods["gateway"]
    assert may_connect(Manifests([]), STRANGER, intake, 8001)
    deny = Manifests(
        [
            {
                "kind": "NetworkPolicy",
                "metadata": {"name": "d", "namespace": NAMESPACE},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            }
        ]
    )
    assert not may_connect(deny, gateway, intake, 8001)
    named = Manifests(
        deny.docs
        + [
            {
                "kind": "NetworkPolicy",
                "metadata": {"name": "i", "namespace": NAMESPACE},
                "spec": {
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "intake"}},
                    "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}],
                },
            }
        ]
    )
    assert may_connect(named, gateway, intake, intake.ports["http"])
    assert not may_connect(named, gateway, intake, 9999)
    assert not may_connect(named, STRANGER, intake, intake.ports["http"]), "a bare podSelector: this namespace only"
