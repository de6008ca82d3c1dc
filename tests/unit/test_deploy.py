"""No container engine runs here, so the deploy files are checked as data: they must match the code."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tools.settings_doc import all_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("gateway", "intake", "compensation", "credit")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_every_variable_compose_sets_is_a_setting_the_service_reads(compose: dict) -> None:
    settings = all_settings()
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        prefix = name.upper() + "_"
        known = {prefix + field.upper() for field in settings[name].model_fields}
        unknown = {k for k in env if k.startswith(prefix)} - known
        assert not unknown, f"{name}: compose sets variables no setting reads: {unknown}"
        assert env["SERVICE"] == name
        for required in ("DATABASE_URL", "DATABASE_SCHEMA", "INTERNAL_SECRET", "HOST", "ENVIRONMENT"):
            assert prefix + required in env, f"{name} lacks {prefix}{required}"
        assert env[prefix + "ENVIRONMENT"] == "production" and env[prefix + "HOST"] == "0.0.0.0"
        for other in SERVICES:
            if other != name:
                assert env[f"{prefix}{other.upper()}_URL"] == f"http://{other}:{settings[other]().port}"


def test_migrations_run_before_the_services_for_every_schema(compose: dict) -> None:
    migrate = compose["services"]["migrate"]
    assert all(
        compose["services"][s]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        for s in SERVICES
    )
    for name in SERVICES:
        assert (
            migrate["environment"][f"{name.upper()}_DATABASE_SCHEMA"]
            == compose["services"][name]["environment"][f"{name.upper()}_DATABASE_SCHEMA"]
        )
    assert "gateway intake compensation credit" in " ".join(migrate["command"])


def test_only_the_gateway_is_published(compose: dict) -> None:
    published = {name for name, svc in compose["services"].items() if svc.get("ports")}
    assert published == {"gateway"}


def test_the_image_runs_as_a_non_root_user_with_a_health_check() -> None:
    stages = dockerfile_stages()
    assert len(stages) == 2, "multi-stage: build tools stay out of the image"
    final = stages[-1]
    assert image_user(final) == (APP_UID, APP_UID)
    assert any(i.startswith("HEALTHCHECK ") for i in final)
    assert "services.${SERVICE}.main" in final[-1] and final[-1].startswith("CMD ")


# --- the image, read as data: no engine builds it here ----------------------------------------------------

APP_UID = 10001  # the user Kubernetes runs the pods as (deploy/k8s: runAsUser, runAsGroup, fsGroup)
DEV_ONLY = ("pytest", "pytest-asyncio", "ruff", "schemathesis", "playwright", "hypothesis")


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), stage by stage."""
    stages: list[list[str]] = []
    pending = ""
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip("\\").strip() + " "
        if line.endswith("\\"):
            continue
        instruction, pending = pending.strip(), ""
        if instruction.startswith("FROM "):
            stages.append([])
        stages[-1].append(instruction)
    return stages


def image_user(stage: list[str]) -> tuple[int, int]:
    """The numeric user and group the stage ends with: Kubernetes checks runAsNonRoot against a number."""
    (user,) = [i for i in stage if i.startswith("USER ")][-1:]
    uid, _, gid = user.split()[1].partition(":")
    assert uid.isdigit() and gid.isdigit(), f"{user}: a numeric user and group"
    created = " ".join(i for i in stage if "useradd" in i)
    assert f"--uid {uid}" in created and f"--gid {gid}" in created, "the user exists in the image's passwd"
    return int(uid), int(gid)


def created_for_the_app(stage: list[str], uid: int) -> set[PurePosixPath]:
    """Directories the stage makes with mkdir and gives to the app user (chown -R uid:gid on them or above)."""
    made, owned = set(), []
    for instruction in stage:
        if not instruction.startswith("RUN "):
            continue
        for command in re.split(r"&&|;", instruction[4:]):
            words = command.split()
            if words[:1] == ["mkdir"]:
                made |= {PurePosixPath(w) for w in words[1:] if not w.startswith("-")}
            elif words[:1] == ["chown"] and "-R" in words:
                target = [w for w in words[1:] if not w.startswith("-")]
                if target and target[0].split(":")[0] in (str(uid), "app"):
                    owned += [PurePosixPath(w) for w in target[1:]]
    return {d for d in made if any(o == d or o in d.parents for o in owned)}


def lock(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """A lock file: normalised name -> (version, hashes); every requirement pinned with ==, with hashes."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    text = (ROOT / name).read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        block = block.split("\n#")[0]
        if not block.strip() or block.startswith("#"):
            continue
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", block)
        assert match, f"{name}: not an exact pin: {block.splitlines()[0]}"
        hashes = frozenset(re.findall(r"--hash=(sha256:[0-9a-f]{64})", block))
        assert hashes, f"{name}: {match[1]} has no hash"
        pins[normalise(match[1])] = (match[2], hashes)
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return {normalise(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in requirements}


def imported_distributions(*folders: str) -> dict[frozenset[str], set[str]]:
    """Distributions -> files, for every third-party module imported by the Python files under `folders`: the
    distributions that install its top-level name (several for a namespace such as `opentelemetry`)."""
    local = {"shared", "services", "tests", "bench", "tools", "demo", "migrations"}
    owners = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in sys.stdlib_module_names or top in local or top == "__future__":
                        continue
                    dists = frozenset(normalise(d) for d in owners.get(top, [top]))
                    found.setdefault(dists, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_image_installs_the_runtime_lock_with_hashes_and_nothing_else() -> None:
    build, final = dockerfile_stages()
    installs = [i for i in build if "pip install" in i and "-r " in i]
    assert len(installs) == 1 and "--require-hashes -r requirements.lock" in installs[0], installs
    copied = " ".join(i for stage in (build, final) for i in stage if i.startswith("COPY "))
    assert "requirements-dev.lock" not in copied and "requirements.lock" in copied
    assert not any("pip install" in i for i in final), "the final stage only copies the venv"
    runtime = lock("requirements.lock")
    assert not set(DEV_ONLY) & set(runtime), "test and lint tools stay out of the image"


def test_the_dev_lock_is_the_runtime_lock_plus_the_tools_at_the_same_versions() -> None:
    runtime, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    for name, pinned in runtime.items():
        assert dev.get(name) == pinned, f"{name}: the two locks differ"
    assert declared() <= set(runtime), "every runtime dependency is in the runtime lock"
    assert declared("dev") <= set(dev)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements-dev.lock" in makefile, "make install takes the dev lock"
    assert re.search(r"^STAMP .*\$\(LOCKS\)", makefile, re.M) and "requirements-dev.lock" in makefile


def test_every_package_the_tests_import_is_declared() -> None:
    """The code's imports are deptry's to check (`make lint`), against [project] dependencies; the tests, which it
    does not scan, may import those and the dev extra's, but nothing that happens to come along."""
    tools = declared() | declared("dev")
    for dists, files in imported_distributions("tests").items():
        assert dists & tools, f"{sorted(dists)} imported by {sorted(files)[:3]} but declared nowhere"


def test_the_image_user_is_the_one_kubernetes_runs_and_owns_the_evidence_mount(compose: dict) -> None:
    final = dockerfile_stages()[-1]
    uid, gid = image_user(final)
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            pod = pod_spec(doc) if doc else None
            if pod and any(c["image"] == "assured-tour" for c in pod["containers"]):
                context = pod["securityContext"]
                assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (uid, gid, gid), path.name
    owned = created_for_the_app(final, uid)
    named_volumes = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        if service.get("build", {}).get("dockerfile") != "deploy/Dockerfile":
            continue
        for mount in service.get("volumes", []):
            source, target, *mode = mount.split(":")
            if source in named_volumes and "ro" not in mode:
                # A new named volume takes its mount point's owner from the image: it must exist there, the app's.
                assert PurePosixPath(target) in owned, f"{name}: {target} is not made for the app in the image"
    env = compose["services"]["intake"]["environment"]
    assert f"evidence:{env['INTAKE_EVIDENCE_DIR']}" in compose["services"]["intake"]["volumes"]


def pod_spec(doc: dict) -> dict | None:
    if doc["kind"] in ("Deployment", "Job"):
        return doc["spec"]["template"]["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def test_the_backup_takes_the_database_the_services_use_and_intake_s_evidence_volume(compose: dict) -> None:
    backup = compose["services"]["backup"]
    assert backup["image"] == compose["services"]["postgres"]["image"], "pg_dump of the server's version"
    mounts = {m.split(":")[1]: m.split(":")[0] for m in backup["volumes"]}
    script = backup["entrypoint"][1]
    source = mounts[str(PurePosixPath(script).parent)]
    assert (DEPLOY / source / PurePosixPath(script).name).is_file()
    intake = compose["services"]["intake"]["environment"]
    assert mounts[backup["environment"]["EVIDENCE_DIR"]] == "evidence"
    assert f"evidence:{intake['INTAKE_EVIDENCE_DIR']}" in compose["services"]["intake"]["volumes"]
    url = backup["environment"]["DATABASE_URL"]
    assert url.split("@")[1] == intake["INTAKE_DATABASE_URL"].split("@")[1], "the same database"
    schemas = {compose["services"][s]["environment"][f"{s.upper()}_DATABASE_SCHEMA"] for s in SERVICES}
    assert schemas == {"gateway", "intake", "compensation", "credit"}, "backup.sh's default SCHEMAS"
    assert 'schemas="${SCHEMAS:-gateway intake compensation credit}"' in (DEPLOY / "backup" / "backup.sh").read_text(
        encoding="utf-8"
    )
