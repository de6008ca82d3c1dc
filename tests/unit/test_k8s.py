"""The Kubernetes manifests (deploy/k8s) checked as data against the code: no cluster runs here.

What a pod must be given is derived from the settings classes (tools.settings_doc.all_settings()), so a
setting added later whose default cannot serve in production fails here until the manifests provide it.
"""

from __future__ import annotations

import configparser
import copy
import importlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, get_args

import pytest
import yaml
from pydantic.fields import FieldInfo

from shared.settings import PLACEHOLDER_SECRET, ServiceSettings
from tools.settings_doc import all_settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
PEAK = ROOT / "deploy" / "k8s-peak"  # the overlay sized for 400 submissions a second
SETTINGS = all_settings()
SERVICES = tuple(SETTINGS)
PLACEHOLDER = "REPLACE_ME"
LOOPBACK = ("127.0.0.1", "localhost")
RESIDENT_BYTES = 150 * 2**20  # what one service process holds
# Base settings a production pod always sets, whatever their defaults (shared/settings.py).
CORE = ("environment", "host", "database_url", "database_schema", "internal_secret")
# Secrets that may stay empty: S3 credentials then come from the pod's identity (boto3's chain).
OPTIONAL_SECRETS = ("INTAKE_EVIDENCE_S3_ACCESS_KEY", "INTAKE_EVIDENCE_S3_SECRET_KEY")
# Gateway paths that stay inside the cluster.
INTERNAL_PATHS = ("health", "internal", "metrics")


@dataclass(frozen=True)
class Provided:
    """Where a container's variable comes from: a literal, a ConfigMap or a Secret (value as written)."""

    source: str  # "value", "config" or "secret"
    value: str | None
    ref: tuple[str, str] | None = None  # (object name, key)


class Manifests:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def of(self, kind: str) -> dict[str, dict[str, Any]]:
        return {d["metadata"]["name"]: d for d in self.docs if d["kind"] == kind}

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = self.of(kind).get(name)
        assert found is not None, f"the manifests have no {kind} {name!r}"
        return found

    def secret_data(self, name: str) -> dict[str, str]:
        secret = self.get("Secret", name)
        return {**secret.get("data", {}), **secret.get("stringData", {})}

    def workloads(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind/name, pod spec) of every Deployment, Job and CronJob."""
        found = []
        for d in self.docs:
            if d["kind"] in ("Deployment", "Job"):
                found.append((f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]))
            elif d["kind"] == "CronJob":
                found.append((f"CronJob/{d['metadata']['name']}", d["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
        return found

    def environment(self, container: dict[str, Any]) -> dict[str, Provided]:
        """The variables the container gets; every ConfigMap, Secret and key it refers to must exist."""
        env: dict[str, Provided] = {}
        for source in container.get("envFrom", []):
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                name = source["configMapRef"]["name"]
                for key, value in self.get("ConfigMap", name).get("data", {}).items():
                    env[prefix + key] = Provided("config", str(value), (name, key))
            else:
                name = source["secretRef"]["name"]
                for key, value in self.secret_data(name).items():
                    env[prefix + key] = Provided("secret", str(value), (name, key))
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = Provided("value", str(var["value"]))
                continue
            ref = var["valueFrom"]
            if "secretKeyRef" in ref:
                name, key = ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]
                data = self.secret_data(name)
                assert key in data, f"{var['name']}: Secret {name} has no key {key}"
                env[var["name"]] = Provided("secret", str(data[key]), (name, key))
            elif "configMapKeyRef" in ref:
                name, key = ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]
                data = self.get("ConfigMap", name).get("data", {})
                assert key in data, f"{var['name']}: ConfigMap {name} has no key {key}"
                env[var["name"]] = Provided("config", str(data[key]), (name, key))
            else:
                env[var["name"]] = Provided("value", None)  # fieldRef / resourceFieldRef
        return env


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None)
    return Manifests(docs)


def prefix(service: str) -> str:
    prefix = SETTINGS[service].model_config.get("env_prefix", "")
    assert prefix, f"{service}'s settings have no env_prefix"
    return prefix


def port_of(service: str, env: dict[str, Provided] | None = None) -> int:
    given = (env or {}).get(prefix(service) + "PORT")
    return int(given.value) if given and given.value else int(SETTINGS[service].model_fields["port"].default)


def service_containers(m: Manifests) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(where, service, container, pod spec) of every container that runs a service (env SERVICE)."""
    found = []
    for where, pod in m.workloads():
        for c in pod["containers"]:
            service = next((v.get("value") for v in c.get("env", []) if v["name"] == "SERVICE"), None)
            if service is not None:
                found.append((f"{where}/{c['name']}", service, c, pod))
    return found


def deployment_container(m: Manifests, service: str) -> dict[str, Any]:
    containers = m.get("Deployment", service)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{service}: one container per pod"
    return containers[0]


def is_secret(name: str) -> bool:
    words = name.split("_")
    return name == "database_url" or "secret" in words or words[-1] in ("key", "password", "token")


def is_path(field: FieldInfo) -> bool:
    return field.annotation is Path or Path in get_args(field.annotation)


def must_be_provided(service: str, name: str, field: FieldInfo) -> bool:
    """Whether a production pod may not keep this setting's default, judged from the default itself."""
    if name == f"{service}_url":
        return False  # a service never calls itself (shared/app.py builds clients for the others)
    if name.endswith("previous_secret"):
        return False  # set only while a rotation rolls out (and then from a Secret, like every secret)
    if is_secret(name) and field.default == "":
        return False  # empty: the feature is off, or the credentials come from elsewhere (S3: the pod's identity)
    if name in CORE or field.is_required() or is_secret(name):
        return True  # a secret's default is in the code, so it is no secret
    default = field.default
    text = "" if default is None else str(default)
    return (
        any(host in text for host in LOOPBACK)  # a local fake or a service on this machine
        or text.startswith("sqlite")
        or default == PLACEHOLDER_SECRET
        or "demo" in text.lower()
        or (isinstance(default, Path) and not default.is_absolute())  # under the image's read-only /app
        or (is_secret(name) and not default)
    )


def required_settings(service: str) -> dict[str, FieldInfo]:
    return {n: f for n, f in SETTINGS[service].model_fields.items() if must_be_provided(service, n, f)}


def quantity(text: str | int | float) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert match and (not match[2] or match[2] in units), f"unreadable quantity {text!r}"
    return float(match[1]) * units.get(match[2], 1)


def route_paths(app: Any) -> set[str]:
    paths: set[str] = set()

    def walk(routes: Any, above: str) -> None:
        for route in routes:
            if getattr(route, "path", None) is not None:
                paths.add(above + route.path)
                continue
            inner = getattr(route, "original_router", None) or getattr(route, "router", None)
            if inner is not None:
                walk(inner.routes, above + getattr(route, "prefix", ""))

    walk(app.routes, "")
    return paths


def first_segment(path: str) -> str:
    return path.strip("/").split("/")[0]


# --- the files -------------------------------------------------------------------------------------------


def test_every_document_parses_and_the_kustomization_lists_every_file(manifests: Manifests) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    (namespace,) = manifests.of("Namespace")
    assert kustomization["namespace"] == namespace
    names = set()
    for d in manifests.docs:
        assert d.get("apiVersion") and d.get("kind") and d["metadata"].get("name"), d
        assert (d["kind"], d["metadata"]["name"]) not in names, f"two {d['kind']} {d['metadata']['name']}"
        names.add((d["kind"], d["metadata"]["name"]))
        if d["kind"] != "Namespace":
            assert d["metadata"].get("namespace") == namespace, f"{d['kind']} {d['metadata']['name']}"
    images = {c["image"] for _, pod in manifests.workloads() for c in pod["containers"]}
    assert images == {image["name"] for image in kustomization["images"]}, "one image for everything"


def test_the_secret_is_a_template_with_marked_placeholders(manifests: Manifests) -> None:
    text = (K8S / "secret.yaml").read_text(encoding="utf-8")
    assert "secret store" in text, "say where the real values come from"
    for name, secret in manifests.of("Secret").items():
        assert "data" not in secret, f"{name}: no encoded values in the repository"
        for key, value in secret["stringData"].items():
            if value == "" and key in OPTIONAL_SECRETS:
                continue  # empty is a working choice (the pod's own identity)
            assert PLACEHOLDER in str(value), f"Secret {name}: {key} must be a {PLACEHOLDER} placeholder"
    used = set()
    for _, pod in manifests.workloads():
        for c in pod["containers"]:
            used |= {p.ref for p in manifests.environment(c).values() if p.source == "secret"}
        used |= {
            (v["secret"]["secretName"], i["key"])
            for v in pod.get("volumes", [])
            if "secret" in v
            for i in v["secret"].get("items", [])
        }
    declared = {(name, key) for name in manifests.of("Secret") for key in manifests.secret_data(name)}
    assert declared - used == set(), "keys no pod reads"


# --- every pod --------------------------------------------------------------------------------------------


def test_every_pod_runs_as_non_root_on_a_read_only_root_with_a_scratch_tmp(manifests: Manifests) -> None:
    assert manifests.workloads()
    for where, pod in manifests.workloads():
        assert pod.get("automountServiceAccountToken") is False, where
        pod_sc = pod.get("securityContext", {})
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            sc = {**pod_sc, **c.get("securityContext", {})}
            assert sc.get("runAsNonRoot") is True, where
            assert sc.get("runAsUser", 1) != 0, where  # numeric: the image's USER is a name
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert "ALL" in sc.get("capabilities", {}).get("drop", []), where
            mounts = {vm["mountPath"]: vm["name"] for vm in c.get("volumeMounts", [])}
            assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]], f"{where}: /tmp is an emptyDir"


def test_every_container_has_requests_and_limits_for_a_150_mb_process(manifests: Manifests) -> None:
    for where, pod in manifests.workloads():
        for c in pod["containers"]:
            requests, limits = c["resources"]["requests"], c["resources"]["limits"]
            for resource in ("cpu", "memory"):
                assert quantity(limits[resource]) >= quantity(requests[resource]) > 0, f"{where}: {resource}"
            assert quantity(requests["memory"]) >= RESIDENT_BYTES, f"{where}: the request holds the process"
            assert quantity(limits["memory"]) >= 2 * RESIDENT_BYTES, f"{where}: room above the resident size"


def test_every_volume_refers_to_an_object_that_exists(manifests: Manifests) -> None:
    for where, pod in manifests.workloads():
        for volume in pod.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                manifests.get("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
            if "secret" in volume:
                data = manifests.secret_data(volume["secret"]["secretName"])
                for item in volume["secret"].get("items", []):
                    assert item["key"] in data, f"{where}: the Secret has no {item['key']}"
        for c in pod["containers"]:
            manifests.environment(c)  # asserts every ConfigMap, Secret and key referred to exists


# --- the services' settings -------------------------------------------------------------------------------


def test_every_variable_is_a_setting_of_the_container_s_service(manifests: Manifests) -> None:
    prefixes = {prefix(s): s for s in SERVICES}
    for where, pod in manifests.workloads():
        for c in pod["containers"]:
            env = manifests.environment(c)
            service = env["SERVICE"].value if "SERVICE" in env else None
            for name in set(env) - {"SERVICE"}:
                owner = next((s for p, s in prefixes.items() if name.startswith(p)), None)
                assert owner is not None, f"{where}: {name} is no service's setting"
                assert service in (None, owner), f"{where} runs {service} but sets {name}"
                field = name[len(prefix(owner)) :].lower()
                assert field in SETTINGS[owner].model_fields, f"{where}: {name} is not a setting {owner} reads"


def test_every_service_pod_is_given_what_production_needs(manifests: Manifests) -> None:
    containers = service_containers(manifests)
    assert {service for _, service, _, _ in containers} == set(SERVICES)
    for where, service, c, _ in containers:
        p, env = prefix(service), manifests.environment(c)
        assert c["name"] == service or where.startswith("CronJob/"), where
        assert env[p + "ENVIRONMENT"].value == "production" and env[p + "HOST"].value == "0.0.0.0", where
        for name, field in required_settings(service).items():
            given = env.get(p + name.upper())
            assert given is not None, f"{where} must set {p}{name.upper()} (its default {field.default!r})"
            if is_secret(name):
                assert given.source == "secret", f"{where}: {p}{name.upper()} must come from a Secret"
            elif name != "host" and given.value is not None:
                assert not any(h in given.value for h in LOOPBACK), f"{where}: {p}{name.upper()}={given.value}"
        for other in SERVICES:
            if other != service:
                url = env[f"{p}{other.upper()}_URL"].value
                assert url == f"http://{other}:{port_of(other)}", f"{where}: {other} is at {url}"
        assert env[p + "DATABASE_SCHEMA"].value, where


def test_the_services_accept_their_environment_in_production(manifests: Manifests) -> None:
    """The settings class validates what the pod gets (placeholders made real-looking)."""
    for where, service, c, _ in service_containers(manifests):
        p, values = prefix(service), {}
        for name, given in manifests.environment(c).items():
            if name.startswith(p) and given.value is not None:
                values[name[len(p) :].lower()] = given.value.replace(PLACEHOLDER, f"{name.lower()}-{'x' * 40}")
        settings = SETTINGS[service].model_validate(values)  # no environment read: only what the pod has
        assert isinstance(settings, ServiceSettings) and settings.is_production, where


def test_the_services_get_what_compose_gives_them(manifests: Manifests) -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    for where, service, c, _ in service_containers(manifests):
        composed = {k for k in compose["services"][service]["environment"] if k.startswith(prefix(service))}
        assert composed - set(manifests.environment(c)) == set(), f"{where} lacks what compose sets"


def test_file_settings_point_into_mounted_volumes(manifests: Manifests) -> None:
    for where, service, c, pod in service_containers(manifests):
        p, env = prefix(service), manifests.environment(c)
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mounts = [(PurePosixPath(vm["mountPath"]), volumes[vm["name"]]) for vm in c.get("volumeMounts", [])]
        for name, field in SETTINGS[service].model_fields.items():
            given = env.get(p + name.upper())
            if not is_path(field) or given is None or given.value is None:
                continue
            path = PurePosixPath(given.value)
            mount = next(((root, v) for root, v in mounts if root == path or root in path.parents), None)
            assert mount is not None, f"{where}: {p}{name.upper()}={path} is in no mounted volume"
            root, volume = mount
            if "secret" in volume and volume["secret"].get("items"):
                assert str(path.relative_to(root)) in {i["path"] for i in volume["secret"]["items"]}, (
                    f"{where}: {path} is not one of the Secret's files"
                )


# --- Deployments, Services, autoscalers -------------------------------------------------------------------


def test_one_deployment_service_and_autoscaler_per_service(manifests: Manifests) -> None:
    assert set(manifests.of("Deployment")) == set(SERVICES)
    assert set(manifests.of("Service")) == set(SERVICES)
    assert {h["spec"]["scaleTargetRef"]["name"] for h in manifests.of("HorizontalPodAutoscaler").values()} == set(
        SERVICES
    )


def test_deployments_run_their_service_from_the_image_s_command(manifests: Manifests) -> None:
    for service in SERVICES:
        c = deployment_container(manifests, service)
        assert manifests.environment(c)["SERVICE"].value == service
        assert "command" not in c and "args" not in c, f"{service}: the image's CMD runs services.$SERVICE.main"


def test_deployments_probe_the_health_endpoints_on_the_service_port(manifests: Manifests) -> None:
    for service in SERVICES:
        c = deployment_container(manifests, service)
        app_paths = route_paths(importlib.import_module(f"services.{service}.main").create_app())
        ports = {p.get("name"): p["containerPort"] for p in c["ports"]}
        assert set(ports.values()) == {port_of(service, manifests.environment(c))}, service
        for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
            get = c[probe]["httpGet"]
            assert get["path"] == path and path in app_paths, f"{service}: {probe}"
            assert ports.get(get["port"], get["port"]) == port_of(service), f"{service}: {probe} port"


def test_each_service_selects_its_deployment_s_pods_and_targets_the_container_port(manifests: Manifests) -> None:
    for name, svc in manifests.of("Service").items():
        deployment = manifests.get("Deployment", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"].get("type", "ClusterIP") == "ClusterIP", name
        assert svc["spec"]["selector"].items() <= labels.items(), f"{name} selects no pod of its Deployment"
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        c = deployment_container(manifests, name)
        ports = {p.get("name"): p["containerPort"] for p in c["ports"]}
        for port in svc["spec"]["ports"]:
            assert ports.get(port["targetPort"], port["targetPort"]) in ports.values(), f"{name}: targetPort"
            assert port["port"] == port_of(name), f"{name}: the *_URL settings name port {port_of(name)}"


def test_each_autoscaler_scales_an_existing_deployment_on_cpu(manifests: Manifests) -> None:
    for name, hpa in manifests.of("HorizontalPodAutoscaler").items():
        assert hpa["apiVersion"] == "autoscaling/v2", name
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["apiVersion"] == "apps/v1", name
        deployment = manifests.get("Deployment", target["name"])
        assert "replicas" not in deployment["spec"], f"{target['name']}: the autoscaler owns the count"
        assert 1 <= hpa["spec"].get("minReplicas", 1) <= hpa["spec"]["maxReplicas"], name
        cpu = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
        assert cpu and cpu[0]["resource"]["target"]["type"] == "Utilization", name
        assert deployment_container(manifests, target["name"])["resources"]["requests"]["cpu"], name


def test_only_the_gateway_is_published_and_only_its_public_paths(manifests: Manifests) -> None:
    ingresses = list(manifests.of("Ingress").values())
    assert len(ingresses) == 1
    gateway_port = manifests.get("Service", "gateway")["spec"]["ports"][0]
    paths = set()
    for rule in ingresses[0]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "gateway"
            assert backend["port"].get("name", gateway_port.get("name")) == gateway_port.get("name")
            assert backend["port"].get("number", gateway_port["port"]) == gateway_port["port"]
            assert not (path["path"] == "/" and path["pathType"] == "Prefix"), "everything, /internal too"
            paths.add(first_segment(path["path"]))
    public = {first_segment(p) for p in route_paths(importlib.import_module("services.gateway.main").create_app())}
    assert paths == public - set(INTERNAL_PATHS), "route every public path of the gateway, and no internal one"


# --- migrations and the scheduled reconciliation ----------------------------------------------------------


def test_the_migration_job_migrates_every_service_in_its_deployment_s_schema(manifests: Manifests) -> None:
    ini = configparser.ConfigParser()
    ini.read(ROOT / "migrations" / "alembic.ini", encoding="utf-8")
    assert set(SERVICES) <= set(ini.sections())
    jobs = [
        j
        for j in manifests.of("Job").values()
        if "alembic" in " ".join(j["spec"]["template"]["spec"]["containers"][0].get("command", []))
    ]
    assert len(jobs) == 1
    pod = jobs[0]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    (c,) = pod["containers"]
    script = " ".join(c["command"])
    loop = re.search(r"for s in ([\w ]+); do alembic -c migrations/alembic.ini -n \$s upgrade head \|\| exit 1", script)
    assert loop and loop[1].split() == list(SERVICES), script
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    assert script == " ".join(compose["services"]["migrate"]["command"]).replace("$$", "$"), "as compose's"
    env = manifests.environment(c)
    for service in SERVICES:
        p = prefix(service)
        deployed = manifests.environment(deployment_container(manifests, service))
        assert env[p + "DATABASE_SCHEMA"].value == deployed[p + "DATABASE_SCHEMA"].value, service
        assert env[p + "DATABASE_URL"] == deployed[p + "DATABASE_URL"], f"{service}: the same database"


def test_the_reconciliation_runs_each_morning_in_shanghai_as_compensation(manifests: Manifests) -> None:
    from services.compensation import cli

    (cron,) = manifests.of("CronJob").values()
    assert cron["spec"]["timeZone"] == "Asia/Shanghai"
    minute, hour, *every = cron["spec"]["schedule"].split()
    assert every == ["*", "*", "*"] and minute.isdigit() and 5 <= int(hour) <= 11, "once each morning"
    assert cron["spec"].get("concurrencyPolicy") == "Forbid"
    (c,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["python", "-m", "services.compensation.cli", "reconcile"]
    with pytest.raises(SystemExit) as done:
        cli.main(["reconcile", "--help"])
    assert done.value.code == 0, "the CLI has a reconcile command"
    p = prefix("compensation")
    deployed = manifests.environment(deployment_container(manifests, "compensation"))
    env = manifests.environment(c)
    for name, given in deployed.items():
        if name.startswith(p) and name != p + "RUN_BACKGROUND_WORKERS":
            assert env.get(name) == given, f"the CronJob's {name} differs from compensation's"


# --- the overlay for 400 submissions a second (deploy/k8s-peak) ----------------------------------------


def peak_patches() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(target, operation) of every patch of the overlay, which must build on the base and only replace."""
    overlay = yaml.safe_load((PEAK / "kustomization.yaml").read_text(encoding="utf-8"))
    assert overlay["resources"] == ["../k8s"], "an overlay of the base"
    return [(patch["target"], op) for patch in overlay["patches"] for op in yaml.safe_load(patch["patch"])]


def at(doc: Any, path: str) -> tuple[Any, str | int]:
    """The node holding a JSON-pointer path's last key, and that key; the path must exist."""
    *parents, leaf = path.strip("/").split("/")
    node = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last: str | int = int(leaf) if isinstance(node, list) else leaf
    assert (last < len(node)) if isinstance(last, int) else (last in node), f"{path} is not in the base"
    return node, last


@pytest.fixture(scope="module")
def peak(manifests: Manifests) -> Manifests:
    docs = copy.deepcopy(manifests.docs)
    for target, op in peak_patches():
        assert op["op"] == "replace", "the overlay changes values the base has, nothing else"
        (doc,) = [d for d in docs if d["kind"] == target["kind"] and d["metadata"]["name"] == target["name"]]
        node, key = at(doc, op["path"])
        node[key] = op["value"]
    return Manifests(docs)


def test_the_peak_overlay_is_what_kustomize_builds() -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed here: the patches are applied by the peak fixture only")
    built = subprocess.run(["kubectl", "kustomize", str(PEAK)], capture_output=True, text=True, check=True).stdout
    docs = [d for d in yaml.safe_load_all(built) if d is not None]
    for target, op in peak_patches():
        (doc,) = [d for d in docs if d["kind"] == target["kind"] and d["metadata"]["name"] == target["name"]]
        node, key = at(doc, op["path"])
        assert node[key] == op["value"], f"{target['name']} {op['path']}"


def test_the_peak_replica_set_is_the_one_the_scaling_guide_sizes(peak: Manifests) -> None:
    hpas = peak.of("HorizontalPodAutoscaler")
    # docs/scaling.md: 7 gateways and 8 intakes where a submission costs ~35 ms, at the autoscalers' 70 %.
    assert hpas["gateway"]["spec"]["maxReplicas"] >= 7 and hpas["intake"]["spec"]["maxReplicas"] >= 8
    for name, hpa in hpas.items():
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
    for service in ("gateway", "intake"):
        resources = deployment_container(peak, service)["resources"]
        assert quantity(resources["requests"]["cpu"]) == quantity(resources["limits"]["cpu"]) == 1, service
    # What the pools may ask of PostgreSQL at the maxima, and during a rollout there (each Deployment's surge)
    # with the reconciliation CronJob running, as the overlay's comment tells the operator.
    data = peak.get("ConfigMap", "shared-settings")["data"]
    per_pod = int(data["DATABASE_POOL_SIZE"]) + int(data["DATABASE_MAX_OVERFLOW"])
    pods = sum(hpa["spec"]["maxReplicas"] for hpa in hpas.values())
    surge = sum(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] for d in peak.of("Deployment").values())
    jobs = [
        where
        for where, pod in peak.workloads()
        if where.startswith("CronJob/")
        and any(
            source.get("configMapRef", {}).get("name") == "shared-settings"
            for c in pod["containers"]
            for source in c.get("envFrom", [])
        )
    ]
    comment = (PEAK / "kustomization.yaml").read_text(encoding="utf-8")
    assert f"= {per_pod * pods}\n# connections" in comment
    assert f"running = {per_pod * (pods + surge + len(jobs))}:" in comment


# --- availability: disruptions, zones, requests the autoscalers can work with ----------------------------


def test_each_service_has_a_disruption_budget_that_keeps_one_pod_and_lets_a_drain_through(
    manifests: Manifests,
) -> None:
    budgets = manifests.of("PodDisruptionBudget")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in manifests.of("HorizontalPodAutoscaler").values()}
    for service in SERVICES:
        labels = manifests.get("Deployment", service)["spec"]["template"]["metadata"]["labels"]
        (budget,) = [b for b in budgets.values() if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert budget["apiVersion"] == "policy/v1"
        minimum = hpas[service]["spec"]["minReplicas"]
        if "maxUnavailable" in budget["spec"]:
            allowed = int(budget["spec"]["maxUnavailable"])
        else:
            allowed = minimum - int(budget["spec"]["minAvailable"])
        assert 1 <= allowed < minimum, f"{service}: a drain may take {allowed} of {minimum} pods"


def test_replicas_spread_over_zones_then_nodes(manifests: Manifests) -> None:
    for service in SERVICES:
        pod = manifests.get("Deployment", service)["spec"]["template"]
        constraints = {c["topologyKey"]: c for c in pod["spec"]["topologySpreadConstraints"]}
        zone, node = constraints["topology.kubernetes.io/zone"], constraints["kubernetes.io/hostname"]
        # Two replicas land in two zones where the cluster has two (docs/scaling.md promises it).
        assert zone["maxSkew"] == 1 and zone["whenUnsatisfiable"] == "DoNotSchedule", service
        assert zone.get("nodeTaintsPolicy") == "Honor", f"{service}: a lost zone's tainted nodes must not count"
        assert node["whenUnsatisfiable"] == "ScheduleAnyway", service
        for constraint in (zone, node):
            assert constraint["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(), service


def test_cpu_requests_give_the_autoscalers_a_meaningful_threshold(manifests: Manifests) -> None:
    """70 % of a 100m request is 0.07 of a core: the autoscaler would add pods for idle work."""
    for hpa in manifests.of("HorizontalPodAutoscaler").values():
        service = hpa["spec"]["scaleTargetRef"]["name"]
        resources = deployment_container(manifests, service)["resources"]
        (cpu,) = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
        threshold = quantity(resources["requests"]["cpu"]) * cpu["resource"]["target"]["averageUtilization"] / 100
        assert threshold >= 0.15, f"{service} scales out at {threshold:.2f} of a core"
        assert quantity(resources["requests"]["cpu"]) <= quantity(resources["limits"]["cpu"]), service


def test_the_migration_job_removes_itself_so_each_release_creates_it_anew(manifests: Manifests) -> None:
    job = manifests.get("Job", "migrate")
    ttl = job["spec"].get("ttlSecondsAfterFinished")
    assert ttl is not None and 60 <= ttl <= 3600, "gone before the next release, there long enough to read"
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    assert "delete job migrate" not in readme, "nobody deletes the Job by hand"


# --- PgBouncer (deploy/k8s-pgbouncer, a component) ---------------------------------------------------------

PGBOUNCER = ROOT / "deploy" / "k8s-pgbouncer"


def pgbouncer_docs() -> Manifests:
    return Manifests([d for d in yaml.safe_load_all((PGBOUNCER / "pgbouncer.yaml").read_text(encoding="utf-8")) if d])


def pgbouncer_ini(docs: Manifests) -> configparser.ConfigParser:
    ini = configparser.ConfigParser(inline_comment_prefixes=(";",), comment_prefixes=(";",))
    ini.read_string(docs.get("ConfigMap", "pgbouncer-config")["data"]["pgbouncer.ini"])
    return ini


def test_pgbouncer_pools_by_transaction_and_every_client_knows_it(manifests: Manifests) -> None:
    component = yaml.safe_load((PGBOUNCER / "kustomization.yaml").read_text(encoding="utf-8"))
    assert component["kind"] == "Component" and component["resources"] == ["pgbouncer.yaml"]
    docs = pgbouncer_docs()
    ini = pgbouncer_ini(docs)
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    assert "search_path" not in ini["pgbouncer"].get("ignore_startup_parameters", ""), "nothing relies on it"
    # The tests' PgBouncer is run the same way (tests/ops/pgbouncer.py).
    assert "pool_mode = transaction" in (ROOT / "tests" / "ops" / "pgbouncer.py").read_text(encoding="utf-8")

    # Patched as kustomize would: the services' shared map and the migration Job turn transaction pooling on.
    patched = Manifests(copy.deepcopy(manifests.docs))
    for patch in component["patches"]:
        (doc,) = [
            d
            for d in patched.docs
            if d["kind"] == patch["target"]["kind"] and d["metadata"]["name"] == patch["target"]["name"]
        ]
        for op in yaml.safe_load(patch["patch"]):
            assert op["op"] == "add"
            *parents, leaf = op["path"].strip("/").split("/")
            node = doc
            for key in parents:
                node = node[int(key)] if isinstance(node, list) else node[key]
            if leaf == "-":
                node.append(op["value"])
            else:
                node[leaf] = op["value"]
    for where, service, c, _ in service_containers(patched):
        given = patched.environment(c).get(prefix(service) + "DATABASE_TRANSACTION_POOLING")
        assert given is not None and given.value == "true", where
        assert "database_transaction_pooling" in SETTINGS[service].model_fields
    migrate = patched.environment(patched.get("Job", "migrate")["spec"]["template"]["spec"]["containers"][0])
    for service in SERVICES:
        assert migrate[prefix(service) + "DATABASE_TRANSACTION_POOLING"].value == "true", service


def test_pgbouncer_is_reached_by_what_uses_the_database_on_the_port_their_policies_allow(
    manifests: Manifests,
) -> None:
    docs = pgbouncer_docs()
    port = int(pgbouncer_ini(docs)["pgbouncer"]["listen_port"])
    (service_port,) = docs.get("Service", "pgbouncer")["spec"]["ports"]
    deployment = docs.get("Deployment", "pgbouncer")
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    assert (
        service_port["port"] == port == {p["name"]: p["containerPort"] for p in c["ports"]}[service_port["targetPort"]]
    )
    # The Jobs' egress policies let them reach the database's port, which PgBouncer's is.
    for name in ("migrate-egress", "reconcile-egress"):
        egress = manifests.get("NetworkPolicy", name)["spec"]["egress"]
        assert any({"protocol": "TCP", "port": port} in rule.get("ports", []) for rule in egress), name
    (rule,) = docs.get("NetworkPolicy", "pgbouncer")["spec"]["ingress"]
    allowed = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in rule["from"]}
    users = {where.split("/")[1] for where, _ in manifests.workloads()}
    assert allowed == users, "every workload, and only they, reach PgBouncer"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["automountServiceAccountToken"] is False
    assert c["securityContext"]["readOnlyRootFilesystem"] and c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    dockerfile = (ROOT / "deploy" / "pgbouncer" / "Dockerfile").read_text(encoding="utf-8")
    uid = pod["securityContext"]["runAsUser"]
    assert f"USER {uid}:{pod['securityContext']['runAsGroup']}" in dockerfile and f"--uid {uid}" in dockerfile
    assert "apt-get install -y --no-install-recommends pgbouncer" in dockerfile, "Debian's, as the tests run"
    (budget,) = docs.of("PodDisruptionBudget").values()
    assert budget["spec"]["maxUnavailable"] == 1 and deployment["spec"]["replicas"] >= 2
