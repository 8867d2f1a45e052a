"""``docker-compose.yaml``, ``Dockerfile`` and ``.env.example``, checked without a Docker engine.

* the compose file's shape: services, healthchecks, ``depends_on``, ports on 127.0.0.1 only, one
  ``x-airflow-common`` anchor giving every Airflow service the same mounts and environment;
* every Airflow command (service commands, ``airflow-init``'s script, healthchecks) against the
  pinned Airflow CLI: ``airflow <command> --help`` must exit 0 (an invalid subcommand, option or
  ``--job-type`` choice exits 2). The venv's ``airflow`` script runs once per command inside ONE
  interpreter (the imports, ~4 s, are paid once);
* the Airflow version: requirements.txt, the ``FROM`` tag and the default image tag agree;
* ``.env.example``: documents every ``${VAR}`` the compose file reads, and holds no secret;
* the image is built by one service only (``airflow-init``); the others run its tag and never pull;
* ``env-check`` runs before ``postgres``, so an unedited ``.env`` never initialises the database;
* ``docker-compose config`` (Debian's 1.29, installed by ``.ci/run``) accepts the file with
  ``.env.example``, refuses it without a required secret;
* the scripts themselves, taken from ``docker-compose config``'s output and run by bash as compose
  would run them: ``env-check``'s refuses the example's placeholders; ``airflow-init``'s (only up to
  its first side effect) runs as root with the Dockerfile's ``deploy/`` scripts on PATH and refuses a
  kubeconfig AIRFLOW_UID cannot read (checked by the kernel, as that UID) or whose exec command is
  missing.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CLUSTER, installed_scripts, kubeconfig_text

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
REQUIREMENTS = ROOT / "requirements.txt"
PYPROJECT = ROOT / "pyproject.toml"
DAG_FILE = ROOT / "dags" / "sagemaker_xgboost_mnist.py"

BACKING_SERVICES = ("postgres", "redis")
#: One-shot: checks .env before postgres starts (see the compose file).
ENV_CHECK = "env-check"
#: The one service that builds the Airflow image.
BUILDER = "airflow-init"
#: Long-running Airflow services and their command (argv after ``airflow``).
AIRFLOW_COMMANDS = {
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-worker": ["celery", "worker"],
    "airflow-triggerer": ["triggerer"],
}
AIRFLOW_SERVICES = ("airflow-init", *AIRFLOW_COMMANDS)
EXPECTED_SERVICES = (ENV_CHECK, *BACKING_SERVICES, *AIRFLOW_SERVICES)
LONG_RUNNING = (*BACKING_SERVICES, *AIRFLOW_COMMANDS)
#: What each healthcheck must run (substrings of its command line).
HEALTHCHECKS = {
    "postgres": ["pg_isready"],
    "redis": ["redis-cli", "ping"],
    "airflow-apiserver": ["curl", "--fail", "http://localhost:8080/api/v2/monitor/health"],
    "airflow-scheduler": ["airflow jobs check", "--job-type SchedulerJob"],
    "airflow-dag-processor": ["airflow jobs check", "--job-type DagProcessorJob"],
    "airflow-triggerer": ["airflow jobs check", "--job-type TriggererJob"],
    "airflow-worker": ["celery --app airflow.providers.celery.executors.celery_executor.app inspect ping"],
}
JOB_TYPES = {
    "airflow-scheduler": "SchedulerJob",
    "airflow-dag-processor": "DagProcessorJob",
    "airflow-triggerer": "TriggererJob",
}
#: ``airflow celery ...`` comes from the celery provider, which the official image has and the dev
#: venv does not; without it the subcommand is checked against the provider's CLI instead.
CELERY_PROVIDER_COMMANDS = {("celery", "worker"), ("celery", "flower"), ("celery", "stop")}

OPT = "/opt/airflow"
KUBECONFIG_TARGET = f"{OPT}/kubeconfig"
#: Mount targets of every Airflow service, and which must be read-only.
MOUNTS = {
    f"{OPT}/dags": True,
    f"{OPT}/plugins": True,
    f"{OPT}/include": True,
    f"{OPT}/logs": False,
    f"{OPT}/config": False,
    KUBECONFIG_TARGET: True,
}
#: Fixed values of the common environment.
FIXED_ENV = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://airflow-apiserver:8080/execution/",
    "AIRFLOW__CELERY__BROKER_URL": "redis://:@redis:6379/0",
    "SAGEMAKER_K8S_MANIFESTS_DIR": f"{OPT}/include/manifests",
    "SAGEMAKER_K8S_DATA_DIR": f"{OPT}/include/data",
}
#: Common environment passed through from the same-named ``.env`` variable.
PASSED_THROUGH = (
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW_CONN_AWS_DEFAULT",
    "AIRFLOW_CONN_KUBERNETES_DEFAULT",
    "AIRFLOW_VAR_SAGEMAKER_K8S_REGION",
    "AIRFLOW_VAR_SAGEMAKER_K8S_CLUSTER_NAME",
    "AIRFLOW_VAR_SAGEMAKER_K8S_BUCKET",
    "AIRFLOW_VAR_SAGEMAKER_K8S_EXECUTION_ROLE_ARN",
    "AIRFLOW_VAR_SAGEMAKER_K8S_OPERATOR_ROLE_ARN",
    "AIRFLOW_VAR_SAGEMAKER_K8S_NAMESPACE",
    "AIRFLOW_VAR_SAGEMAKER_K8S_DATASET_SOURCE",
    "SAGEMAKER_K8S_RETRAIN_SCHEDULE",
    "SAGEMAKER_K8S_POLL_INTERVAL",
    "SAGEMAKER_K8S_RECONCILING_TIMEOUT",
    "SAGEMAKER_K8S_APPROVAL_TIMEOUT",
)
#: ``.env`` variables that must have no default in the compose file and only placeholders in the example.
SECRET_VARS = (
    "POSTGRES_PASSWORD",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "_AIRFLOW_WWW_USER_PASSWORD",
)
PLACEHOLDER = "CHANGE_ME"
EXAMPLE_ACCOUNT = "123456789012"
#: Config options the celery provider declares (not installed in the dev venv), read by the compose file.
CELERY_PROVIDER_OPTIONS = {("celery", "result_backend"), ("celery", "broker_url")}

# A variable reference in a compose file: ``$$`` is an escaped dollar, not a reference.
_REF = re.compile(r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}|\$(?P<bare>[A-Za-z_]\w*)")


def _refs(text: str) -> list[tuple[str, str]]:
    """``(name, modifier)`` of every ``${NAME<modifier>}`` / ``$NAME`` in ``text``, escapes skipped."""
    out = []
    for m in _REF.finditer(text):
        if m["braced"]:
            out.append((m["braced"], m["rest"]))
        elif m["bare"]:
            out.append((m["bare"], ""))
    return out


def _strings(node: Any) -> list[str]:
    """Every string (keys included) of loaded YAML: what compose interpolates; comments are not."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def _compose_refs(compose: dict[str, Any]) -> list[tuple[str, str]]:
    return [ref for text in _strings(compose) for ref in _refs(text)]


def _load_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (comments and blanks skipped; one level of matching quotes removed)."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def _airflow_version() -> str:
    pins = re.findall(r"^apache-airflow==([0-9][^\s;#]*)", REQUIREMENTS.read_text(), flags=re.M)
    assert len(pins) == 1, f"requirements.txt must pin apache-airflow exactly once, found {pins}"
    return pins[0]


def _python_minor() -> str:
    spec = re.search(r'requires-python\s*=\s*">=(\d+\.\d+)', PYPROJECT.read_text())
    assert spec, "pyproject.toml: requires-python"
    return spec[1]


def _command_argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def _healthcheck_line(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return test
    kind, *rest = test
    return rest[0] if kind == "CMD-SHELL" else shlex.join(rest)


def _init_script(service: dict[str, Any]) -> str:
    argv = _command_argv(service["command"])
    assert service["entrypoint"] in ("/bin/bash", ["/bin/bash"]) and argv[0] == "-c", argv
    return argv[1]


def _airflow_invocations(script: str) -> list[list[str]]:
    """The ``airflow ...`` (or ``/entrypoint airflow ...``) lines of a shell script, redirections dropped."""
    found = []
    for line in script.splitlines():
        m = re.match(r"\s*(?:/entrypoint\s+)?airflow\s+(.*)$", line)
        if m:
            words = []
            for word in shlex.split(m[1]):
                if word[:1] in "<>|&;" or word[:2] in ("2>", "1>"):
                    break
                words.append(word)
            found.append(words)
    return found


def _shell_airflow_argv(line: str) -> list[str] | None:
    """argv after ``airflow`` of a CMD-SHELL healthcheck, ``$HOSTNAME`` replaced; None if not airflow."""
    words = shlex.split(line.replace("$${HOSTNAME}", "worker-host").replace("${HOSTNAME}", "worker-host"))
    return words[1:] if words and words[0] == "airflow" else None


def _parse_short_volume(spec: str) -> tuple[str, str, bool]:
    m = re.fullmatch(r"(?P<src>.+?):(?P<target>/[^:]+)(?::(?P<mode>[a-z,]+))?", spec)
    assert m, f"unparsable volume {spec!r}"
    return m["src"], m["target"], "ro" in (m["mode"] or "").split(",")


def _volumes(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """target -> (source, read_only) for short and long volume syntax."""
    out = {}
    for vol in service.get("volumes", []):
        if isinstance(vol, str):
            src, target, ro = _parse_short_volume(vol)
        else:
            src, target, ro = vol["source"], vol["target"], bool(vol.get("read_only"))
        assert target not in out, f"{target} mounted twice"
        out[target] = (src, ro)
    return out


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


# --- the file itself ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def compose(raw) -> dict[str, Any]:
    """The file as PyYAML reads it: anchors and ``<<`` merge keys resolved."""
    data = yaml.safe_load(raw)
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def common(compose) -> dict[str, Any]:
    return compose["x-airflow-common"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return _load_env_file(ENV_EXAMPLE)


def test_compose_file_parses_with_a_common_anchor(raw, compose):
    assert re.search(r"^x-airflow-common:\s*\n\s*&airflow-common\b", raw, flags=re.M)
    assert "&airflow-common-env" in raw and "&airflow-common-depends-on" in raw
    assert set(compose["services"]) >= set(EXPECTED_SERVICES)


@pytest.mark.parametrize("name", EXPECTED_SERVICES)
def test_service_exists(compose, name):
    assert name in compose["services"], f"service {name} missing"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_services_use_the_anchor(raw, name):
    block = re.search(rf"^  {re.escape(name)}:\n((?:    .*\n|\s*\n)+)", raw, flags=re.M)
    assert block and "<<: *airflow-common\n" in block[1], f"{name} does not merge *airflow-common"


def test_backing_service_versions(compose):
    assert compose["services"]["postgres"]["image"].split(":")[1].split("-")[0] == "16"
    assert compose["services"]["redis"]["image"].split(":")[1].startswith("7.2")


@pytest.mark.parametrize("name", AIRFLOW_COMMANDS)
def test_service_runs_its_airflow_command(compose, name):
    service = compose["services"][name]
    assert _command_argv(service["command"]) == AIRFLOW_COMMANDS[name]
    assert "entrypoint" not in service, "the image's entrypoint must run the command (airflow ...)"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_service_has_healthcheck_and_restarts(compose, name):
    service = compose["services"][name]
    assert service.get("restart") == "always"
    line = _healthcheck_line(service)
    for part in HEALTHCHECKS[name]:
        assert part in line, f"{name} healthcheck {line!r} lacks {part!r}"
    if name in JOB_TYPES:
        assert '--hostname "$${HOSTNAME}"' in line, "check this container's job, not any job"


@pytest.mark.parametrize("name", AIRFLOW_COMMANDS)
def test_airflow_service_waits_for_init_and_backends(compose, name):
    deps = compose["services"][name]["depends_on"]
    assert deps["airflow-init"] == {"condition": "service_completed_successfully"}
    for backend in BACKING_SERVICES:
        assert deps[backend] == {"condition": "service_healthy"}
    if name == "airflow-worker":
        assert deps["airflow-apiserver"] == {"condition": "service_healthy"}


def test_init_waits_for_backends_and_migrates(compose):
    init = compose["services"]["airflow-init"]
    assert init["depends_on"] == {b: {"condition": "service_healthy"} for b in BACKING_SERVICES}
    assert "restart" not in init and "healthcheck" not in init
    env = _env(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true" and env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert ["version"] in _airflow_invocations(_init_script(init))


# --- one build of the image; .env checked before the database ------------------------------------------


def _depends(service: dict[str, Any]) -> dict[str, Any]:
    deps = service.get("depends_on") or {}
    return {name: {"condition": "service_started"} for name in deps} if isinstance(deps, list) else deps


def _closure(services: dict[str, Any], name: str) -> set[str]:
    """Every service ``name`` waits for, directly or not."""
    seen: set[str] = set()
    todo = list(_depends(services[name]))
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(_depends(services[dep]))
    return seen


def test_exactly_one_service_builds_the_image(compose, common):
    """Six services with ``build: .`` and one tag race in parallel builds ("image ... already exists")."""
    assert "build" not in common, "the shared block must not build: every service merging it would"
    builders = [name for name, service in compose["services"].items() if "build" in service]
    assert builders == [BUILDER]
    assert compose["services"][BUILDER]["image"] == common["image"]


@pytest.mark.parametrize("name", AIRFLOW_COMMANDS)
def test_other_airflow_services_run_the_built_tag(compose, common, name):
    service = compose["services"][name]
    assert "build" not in service and service["image"] == common["image"]
    # Never pulled: compose builds it (BUILDER) before creating any container; a registry has no such tag.
    assert service["pull_policy"] == "never"
    assert _depends(service)[BUILDER] == {"condition": "service_completed_successfully"}


def test_no_two_builds_share_a_tag(normalized):
    """The same, after interpolation: however AIRFLOW_IMAGE_NAME is set, one build per tag."""
    builds = [s.get("image") for s in normalized["services"].values() if "build" in s]
    assert len(builds) == len(set(builds)) == 1
    users = {n for n, s in normalized["services"].items() if s.get("image") == builds[0]}
    assert users == set(AIRFLOW_SERVICES)
    assert all(normalized["services"][n].get("pull_policy") == "never" for n in users)


def test_env_check_runs_before_postgres_initialises(compose):
    services = compose["services"]
    assert _depends(services["postgres"]) == {ENV_CHECK: {"condition": "service_completed_successfully"}}
    check = services[ENV_CHECK]
    assert not _depends(check), "the check must not wait for (so start) anything"
    assert not {"restart", "healthcheck", "volumes", "ports", "build"} & set(check)
    # No build and no extra pull: the database's own image, with bash.
    assert check["image"] == services["postgres"]["image"]
    assert check["entrypoint"] in ("/bin/bash", ["/bin/bash"])
    for name in (*AIRFLOW_SERVICES, "postgres"):
        assert ENV_CHECK in _closure(services, name), f"{name} could start before {ENV_CHECK}"


def test_env_check_sees_every_placeholder(compose, env_example):
    """Every .env value the example leaves as CHANGE_ME reaches env-check's environment."""
    env = _env(compose["services"][ENV_CHECK])
    seen = {name for value in env.values() for name, _ in _refs(value)}
    placeholders = {k for k, v in env_example.items() if PLACEHOLDER in v}
    assert placeholders and placeholders <= seen, sorted(placeholders - seen)
    assert {k: env.get(k) for k in _env(compose["x-airflow-common"])} == _env(compose["x-airflow-common"])


# --- the Airflow version ------------------------------------------------------------------------------


def test_image_tag_matches_the_pinned_airflow(compose, common, env_example):
    version = _airflow_version()
    assert compose["services"][BUILDER]["build"] == "."
    m = re.fullmatch(r"\$\{AIRFLOW_IMAGE_NAME:-(?P<default>[^}]+)\}", common["image"])
    assert m, f"image must be ${{AIRFLOW_IMAGE_NAME:-...}}, got {common['image']!r}"
    assert m["default"].rsplit(":", 1)[1] == version
    assert env_example["AIRFLOW_IMAGE_NAME"].rsplit(":", 1)[1] == version


def test_dockerfile_extends_the_pinned_official_image():
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert froms == [f"apache/airflow:{_airflow_version()}-python{_python_minor()}"]
    assert re.search(r"^COPY\s+requirements\.txt\s+(\S+)", text, flags=re.M)
    run = re.search(r"^RUN\s+pip install\s+(.*)$", text, flags=re.M)
    assert run, "RUN pip install ..."
    args = shlex.split(run[1])
    assert "--no-cache-dir" in args
    assert "apache-airflow==${AIRFLOW_VERSION}" in args, "keep pip from changing the image's Airflow"
    assert args[args.index("-r") + 1].endswith("requirements.txt")


def test_dockerignore_keeps_secrets_out_of_the_build_context():
    lines = [ln.strip() for ln in DOCKERIGNORE.read_text().splitlines() if ln.strip() and ln[0] != "#"]
    assert lines[0] == "*" and "!requirements.txt" in lines
    assert not any(ln.startswith("!") and (".env" in ln or ".venv" in ln) for ln in lines)
    assert {f"!{src}" for src in installed_scripts().values()} <= set(lines), (
        "COPY'd files must be in the context"
    )


def test_dockerfile_installs_the_eks_helpers():
    """``aws`` (the exec plugin of ``aws eks update-kubeconfig``'s kubeconfig) and airflow-init's check."""
    scripts = installed_scripts()
    assert scripts == {"aws": "deploy/aws_eks_get_token.py", "check-kubeconfig": "deploy/check_kubeconfig.py"}
    text = DOCKERFILE.read_text()
    assert re.search(r"^RUN chmod 0755 /usr/local/bin/aws /usr/local/bin/check-kubeconfig$", text, flags=re.M)
    for name, src in scripts.items():
        path = ROOT / src
        assert path.read_text().startswith("#!/usr/bin/env python3\n"), (
            f"{src}: the image's python3 (its venv)"
        )
        assert os.access(path, os.X_OK), f"chmod +x {src}"
        assert re.search(rf"^RUN .*\b{re.escape(name)} .*--help", text, flags=re.M), (
            f"smoke-run {name} in the build"
        )
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users[-1] == "airflow", "the image must end as the airflow user, like the base image"
    assert users.count("root") == 1


# --- commands against the pinned Airflow CLI ------------------------------------------------------------

_LOOP = textwrap.dedent(
    """
    import contextlib, io, json, runpy, sys
    binary, argvs = sys.argv[1], json.loads(sys.argv[2])
    results = {}
    for argv in argvs:
        buf, rc = io.StringIO(), 0
        sys.argv = [binary, *argv]
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                runpy.run_path(binary, run_name="__main__")
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        results[json.dumps(argv)] = {"rc": rc, "out": buf.getvalue()}
    sys.__stdout__.write(json.dumps(results))
    """
)


def _cli_cases() -> list[tuple[str, str, list[str]]]:
    """(service, where, argv) of every Airflow command the compose file runs."""
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    cases = [(name, "command", _command_argv(services[name]["command"])) for name in AIRFLOW_COMMANDS]
    init = services["airflow-init"]
    cases += [("airflow-init", "script", argv) for argv in _airflow_invocations(_init_script(init))]
    if _env(init).get("_AIRFLOW_DB_MIGRATE") == "true":  # the image's entrypoint runs it
        cases.append(("airflow-init", "entrypoint", ["db", "migrate"]))
    for name, service in services.items():
        if "healthcheck" in service:
            argv = _shell_airflow_argv(_healthcheck_line(service))
            if argv is not None:
                cases.append((name, "healthcheck", argv))
    return cases


CLI_CASES = _cli_cases()
#: Airflow 2's job type, gone in 3: the probe must reject it.
INVALID = ["jobs", "check", "--job-type", "WebserverJob", "--help"]


@pytest.fixture(scope="module")
def cli_help(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """``airflow <argv> --help`` for every case plus ``jobs check``: {json argv: {rc, out}}."""
    airflow = Path(sys.executable).with_name("airflow")
    if not airflow.is_file():
        pytest.fail(f"no airflow script next to {sys.executable}: run the tests with the venv's pytest")
    argvs = [[*argv, "--help"] for _, _, argv in CLI_CASES] + [["jobs", "check", "--help"], INVALID]
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    proc = subprocess.run(
        [sys.executable, "-c", _LOOP, str(airflow), json.dumps(argvs)],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {key: value for key, value in json.loads(proc.stdout).items()}


def _help(cli_help, argv: list[str]) -> dict[str, Any]:
    return cli_help[json.dumps([*argv, "--help"])]


@pytest.mark.parametrize(
    ("service", "where", "argv"), CLI_CASES, ids=[f"{s}:{w}:{' '.join(a)}" for s, w, a in CLI_CASES]
)
def test_airflow_command_exists_in_the_pinned_cli(cli_help, service, where, argv):
    result = _help(cli_help, argv)
    if argv[0] == "celery" and "invalid choice: 'celery'" in result["out"]:
        # The celery provider is not in the dev venv: check against its CLI instead.
        assert tuple(argv[:2]) in CELERY_PROVIDER_COMMANDS and len(argv) == 2, argv
        return
    assert result["rc"] == 0, f"airflow {' '.join(argv)} --help exited {result['rc']}:\n{result['out']}"
    words = argv[: next((i for i, w in enumerate(argv) if w.startswith("-")), len(argv))]
    assert result["out"].startswith(f"Usage: airflow {' '.join(words)} "), result["out"][:200]


@pytest.mark.parametrize("service", JOB_TYPES)
def test_healthcheck_job_type_is_a_valid_choice(cli_help, compose, service):
    out = _help(cli_help, ["jobs", "check"])["out"]
    choices = re.search(r"--job-type \{([^}]*)\}", out)
    assert choices, out
    argv = _shell_airflow_argv(_healthcheck_line(compose["services"][service]))
    job_type = argv[argv.index("--job-type") + 1]
    assert job_type == JOB_TYPES[service]
    assert job_type in choices[1].split(",")


def test_an_invalid_choice_would_be_caught(cli_help):
    """The --help probe is not vacuous: a bad ``--job-type`` before ``--help`` exits 2."""
    result = cli_help[json.dumps(INVALID)]
    assert result["rc"] == 2 and "invalid choice: 'WebserverJob'" in result["out"]


# --- mounts and environment -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_mounts_are_the_common_ones(compose, common, name):
    service = compose["services"][name]
    assert service["volumes"] == common["volumes"]
    volumes = _volumes(service)
    assert {t: ro for t, (_, ro) in volumes.items()} == MOUNTS
    for folder in ("dags", "plugins", "include", "logs", "config"):
        assert volumes[f"{OPT}/{folder}"][0] == "${AIRFLOW_PROJ_DIR:-.}/" + folder
    assert volumes[KUBECONFIG_TARGET][0].startswith("${KUBECONFIG_HOST_PATH")


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_environment_is_the_common_one(compose, common, name):
    env, base = _env(compose["services"][name]), _env(common)
    assert {k: env.get(k) for k in base} == base, "every Airflow service gets the whole common env"
    extra = set(env) - set(base)
    assert all(k.startswith("_AIRFLOW_") or k == "DUMB_INIT_SETSID" for k in extra), extra


def test_common_environment_values(common):
    env = _env(common)
    for key, value in FIXED_ENV.items():
        assert env.get(key) == value, key
    for key in PASSED_THROUGH:
        assert env.get(key, "").startswith("${" + key), f"{key} must come from .env's {key}"
    assert env["SAGEMAKER_K8S_MANIFESTS_DIR"].startswith(f"{OPT}/include/")
    assert env["AIRFLOW_CONFIG"].startswith(f"{OPT}/config/")


def test_environment_options_exist_in_airflow():
    """Every AIRFLOW__SECTION__KEY is an option of the pinned Airflow (typos are silently ignored)."""
    spec = importlib.util.find_spec("airflow")
    assert spec and spec.submodule_search_locations
    templates = Path(next(iter(spec.submodule_search_locations))) / "config_templates"
    known = {
        (section, option)
        for section, body in yaml.safe_load((templates / "config.yml").read_text()).items()
        for option in (body.get("options") or {})
    }
    fallback = ConfigParser(interpolation=None)
    fallback.read(templates / "provider_config_fallback_defaults.cfg")
    known |= {(s, o) for s in fallback.sections() for o in fallback.options(s)}
    known |= CELERY_PROVIDER_OPTIONS
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    keys = {k for svc in services.values() for k in _env(svc) if k.startswith("AIRFLOW__")}
    assert keys
    for key in sorted(keys):
        section, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
        assert (section, option) in known, f"{key}: no [{section}] {option} in Airflow {_airflow_version()}"


def test_compose_defaults_match_the_dag(common, env_example):
    """The schedule and poll defaults equal the DAG's own fallbacks (``os.environ.get(NAME, default)``)."""
    dag_defaults = {}
    for node in ast.walk(ast.parse(DAG_FILE.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and ast.unparse(node.func.value) == "os.environ"
            and len(node.args) == 2
        ):
            dag_defaults[ast.literal_eval(node.args[0])] = ast.literal_eval(node.args[1])
    env = _env(common)
    for key in (
        "SAGEMAKER_K8S_RETRAIN_SCHEDULE",
        "SAGEMAKER_K8S_POLL_INTERVAL",
        "SAGEMAKER_K8S_RECONCILING_TIMEOUT",
        "SAGEMAKER_K8S_APPROVAL_TIMEOUT",
    ):
        assert env[key] == "${" + key + ":-" + dag_defaults[key] + "}"
        assert env_example[key] == dag_defaults[key]


# --- .env.example and ports -----------------------------------------------------------------------------


def test_every_variable_is_documented_in_env_example(compose, env_example):
    used = {name for name, _ in _compose_refs(compose)}
    assert used, "no ${VAR} found"
    assert not used - set(env_example), f"not in .env.example: {sorted(used - set(env_example))}"
    assert not set(env_example) - used, f"unused in docker-compose.yaml: {sorted(set(env_example) - used)}"


def test_no_unescaped_shell_variables(compose):
    """A bare ``$NAME`` is compose interpolation too: a shell variable must be written ``$$NAME``."""
    bare = [m["bare"] for text in _strings(compose) for m in _REF.finditer(text) if m["bare"]]
    assert not bare, f"write $${bare[0]} (or ${{{bare[0]}}} for a .env variable)"


@pytest.mark.parametrize("name", SECRET_VARS)
def test_secrets_have_no_default_and_only_a_placeholder(compose, env_example, name):
    mods = [mod for n, mod in _compose_refs(compose) if n == name]
    assert mods and all(mod.startswith(":?") for mod in mods), f"{name}: use ${{{name}:?...}}, got {mods}"
    assert PLACEHOLDER in env_example[name]


def test_env_example_holds_no_real_values(env_example):
    text = ENV_EXAMPLE.read_text()
    assert not re.search(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", text), "an AWS access key id"
    accounts = set(re.findall(r"arn:aws:iam::(\d{12}):", text))
    assert accounts <= {EXAMPLE_ACCOUNT}, accounts
    assert env_example["AIRFLOW_UID"] == "50000"
    role = env_example["AIRFLOW_VAR_SAGEMAKER_K8S_EXECUTION_ROLE_ARN"]
    assert role.startswith(f"arn:aws:iam::{EXAMPLE_ACCOUNT}:")


def test_env_example_connections(env_example, compose):
    aws = json.loads(env_example["AIRFLOW_CONN_AWS_DEFAULT"])
    assert aws["conn_type"] == "aws" and not ({"login", "password"} & set(aws))
    assert aws["extra"]["region_name"] == env_example["AIRFLOW_VAR_SAGEMAKER_K8S_REGION"]
    kube = json.loads(env_example["AIRFLOW_CONN_KUBERNETES_DEFAULT"])
    assert kube["conn_type"] == "kubernetes"
    assert kube["extra"]["kube_config_path"] == KUBECONFIG_TARGET
    assert KUBECONFIG_TARGET in _volumes(compose["services"]["airflow-worker"])


def _published(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host_ip, spec) of each published port; "" when it binds every interface."""
    out = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            out.append((port.get("host_ip", ""), repr(port)))
            continue
        parts = str(port).split(":")
        out.append((parts[0] if len(parts) == 3 else "", str(port)))
    return out


@pytest.mark.parametrize("name", EXPECTED_SERVICES)
def test_no_port_published_on_all_interfaces(compose, name):
    for host_ip, spec in _published(compose["services"][name]):
        assert host_ip == "127.0.0.1", f"{name} publishes {spec} beyond loopback"


def test_only_the_apiserver_is_published(compose):
    published = {n: s["ports"] for n, s in compose["services"].items() if s.get("ports")}
    assert published == {"airflow-apiserver": ["127.0.0.1:8080:8080"]}


# --- docker-compose config -------------------------------------------------------------------------------


def _docker_compose(tmp_path: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (.ci/run installs it: apt-get install docker-compose)")
    # A clean environment: only the env file may supply the compose variables.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture(scope="module")
def normalized(tmp_path_factory) -> dict[str, Any]:
    """``docker-compose config`` with ``.env.example``: variables substituted, paths absolute."""
    home = tmp_path_factory.mktemp("compose-home")
    proc = _docker_compose(home, ENV_EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(proc.stdout)
    data["_home"] = str(home)
    return data


def test_docker_compose_config_accepts_the_file(normalized):
    assert set(normalized["services"]) >= set(EXPECTED_SERVICES)


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_normalized_service_mounts_and_env(normalized, env_example, name):
    service = normalized["services"][name]
    volumes = _volumes(service)
    assert {t: ro for t, (_, ro) in volumes.items()} == MOUNTS
    for folder in ("dags", "plugins", "include"):
        assert volumes[f"{OPT}/{folder}"][0] == str(ROOT / folder)
    assert volumes[KUBECONFIG_TARGET][0] == str(Path(normalized["_home"], ".kube", "config"))
    env = _env(service)
    assert not [k for k, v in env.items() if "${" in v], "unresolved variables"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == env_example["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert env["AIRFLOW_CONN_KUBERNETES_DEFAULT"] == env_example["AIRFLOW_CONN_KUBERNETES_DEFAULT"]
    assert service["image"] == env_example["AIRFLOW_IMAGE_NAME"]


def test_normalized_ports_stay_on_loopback(normalized):
    for name, service in normalized["services"].items():
        for host_ip, spec in _published(service):
            assert host_ip == "127.0.0.1", f"{name}: {spec}"


def test_docker_compose_config_requires_the_secrets(tmp_path):
    env_file = tmp_path / "env"
    lines = ENV_EXAMPLE.read_text().splitlines()
    env_file.write_text("\n".join(ln for ln in lines if not ln.startswith("AIRFLOW__API_AUTH__JWT_SECRET=")))
    proc = _docker_compose(tmp_path, env_file)
    assert proc.returncode != 0
    assert "set AIRFLOW__API_AUTH__JWT_SECRET in .env" in proc.stderr.strip().splitlines()[-1]


# --- the scripts, as compose runs them ------------------------------------------------------------------


def _script(normalized, name: str) -> str:
    """``bash -c``'s script of a service in ``docker-compose config``'s output, ``$$`` unescaped."""
    return _init_script(normalized["services"][name]).replace("$$", "$")


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("name", [ENV_CHECK, BUILDER])
def test_scripts_are_valid_bash(normalized, name):
    proc = subprocess.run(["bash", "-n", "-c", _script(normalized, name)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _run_env_check(normalized, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {**_env(normalized["services"][ENV_CHECK]), **overrides, "PATH": os.environ["PATH"]}
    return _bash(_script(normalized, ENV_CHECK), env)


def _real_values(normalized) -> dict[str, str]:
    env = _env(normalized["services"][ENV_CHECK])
    real = {k: v.replace("CHANGE_ME_", "real_") for k, v in env.items() if PLACEHOLDER in v}
    return {**real, "AIRFLOW__CORE__FERNET_KEY": "x" * 43 + "="}


def test_env_check_refuses_the_example_placeholders(normalized):
    proc = _run_env_check(normalized)
    assert proc.returncode == 1, proc.stdout
    for name in SECRET_VARS:
        assert name in proc.stderr
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in proc.stderr  # the postgres password, inside the URL
    assert "Fix: replace each CHANGE_ME in .env" in proc.stderr


def test_env_check_refuses_a_malformed_fernet_key(normalized):
    proc = _run_env_check(normalized, **{**_real_values(normalized), "AIRFLOW__CORE__FERNET_KEY": "abc"})
    assert proc.returncode == 1 and "not a Fernet key" in proc.stderr


def test_env_check_accepts_real_values(normalized):
    proc = _run_env_check(normalized, **_real_values(normalized))
    assert proc.returncode == 0, proc.stderr
    assert ".env OK" in proc.stdout


# airflow-init's script up to its first side effect (mkdir), run by bash as root like compose runs it
# (``user: "0:0"``), with the image's deploy/ scripts on PATH and the kubeconfig at a temporary path.
# check-kubeconfig tests AIRFLOW_UID's access in a child process running as that UID: these need root.
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="checks as AIRFLOW_UID need root, as airflow-init has"
)
#: The host user owning the kubeconfig in the tests (``id -u`` on a typical Linux host).
HOST_UID = 1000


def _init_guard(normalized, kubeconfig: Path) -> str:
    script = _script(normalized, BUILDER)
    guard, sep, _ = script.partition("\nmkdir ")
    assert sep, "the checks must come before the script's first mkdir"
    assert "chown" not in guard and "/entrypoint" not in guard
    assert KUBECONFIG_TARGET in guard
    return guard.replace(KUBECONFIG_TARGET, str(kubeconfig))


@pytest.fixture
def run_init(normalized, image_bin, shared_dir):
    """Run airflow-init's checks; ``image=False`` leaves the deploy/ scripts off PATH (an old image)."""
    init = normalized["services"][BUILDER]
    assert init["user"] == "0:0"

    def run(image: bool = True) -> subprocess.CompletedProcess[str]:
        path = [str(image_bin)] if image else []
        env = {
            **_env(init),
            "PATH": os.pathsep.join([*path, str(Path(sys.executable).parent), os.environ["PATH"]]),
            "HOME": str(shared_dir),
            "AWS_CONFIG_FILE": str(shared_dir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(shared_dir / "no-aws-credentials"),
        }
        return _bash(_init_guard(normalized, shared_dir / "kubeconfig"), env)

    return run


@pytest.fixture(scope="module")
def airflow_uid(env_example) -> int:
    return int(env_example["AIRFLOW_UID"])


def test_init_checks_the_kubeconfig_as_airflow_uid(normalized, airflow_uid):
    guard = _init_guard(normalized, Path("/k"))
    assert f'check-kubeconfig --uid "{airflow_uid}" /k' in guard
    assert "chown -R " + f'"{airflow_uid}:0"' in _script(normalized, BUILDER), "the same UID the files go to"


@needs_root
def test_init_refuses_a_kubeconfig_airflow_uid_cannot_read(run_init, write_kubeconfig, airflow_uid):
    """The issue's case: the host user's 0600 ~/.kube/config, AIRFLOW_UID left at the example's 50000."""
    write_kubeconfig(uid=HOST_UID, gid=HOST_UID, mode=0o600)
    proc = run_init()
    assert proc.returncode == 1, proc.stdout
    assert (
        f"ERROR: the Airflow user (AIRFLOW_UID={airflow_uid}, group 0) cannot read the kubeconfig"
        in proc.stderr
    )
    assert f"owner uid {HOST_UID}, group {HOST_UID}, mode 0600" in proc.stderr
    assert f"Fix: set AIRFLOW_UID={HOST_UID} in .env" in proc.stderr
    assert "kubeconfig OK" not in proc.stdout


@needs_root
def test_init_refuses_a_root_owned_kubeconfig_without_suggesting_uid_0(run_init, write_kubeconfig):
    write_kubeconfig(uid=0, gid=HOST_UID, mode=0o640)
    proc = run_init()
    assert proc.returncode == 1
    assert "AIRFLOW_UID=0" not in proc.stderr and "install -m 0640 -g 0" in proc.stderr


@needs_root
@pytest.mark.parametrize(
    ("uid", "gid", "mode"),
    [(50000, HOST_UID, 0o600), (HOST_UID, 0, 0o640), (HOST_UID, HOST_UID, 0o644)],
    ids=["owned-by-AIRFLOW_UID", "group-root-0640", "world-readable"],
)
def test_init_accepts_a_kubeconfig_airflow_uid_can_read(
    run_init, write_kubeconfig, image_bin, uid, gid, mode
):
    write_kubeconfig(uid=uid, gid=gid, mode=mode)
    proc = run_init()
    assert proc.returncode == 0, proc.stderr
    assert "kubeconfig OK for AIRFLOW_UID=50000" in proc.stdout
    assert f"exec plugin 'aws' -> {image_bin / 'aws'}" in proc.stdout


@needs_root
def test_init_refuses_an_exec_command_the_image_lacks(run_init, write_kubeconfig):
    text = kubeconfig_text(command="aws-iam-authenticator", args=["token", "-i", CLUSTER])
    write_kubeconfig(uid=50000, mode=0o600, text=text)
    proc = run_init()
    assert proc.returncode == 1, proc.stdout
    assert "runs 'aws-iam-authenticator token -i my-cluster'" in proc.stderr
    assert "the Airflow image has no 'aws-iam-authenticator' for AIRFLOW_UID=50000" in proc.stderr
    assert "command: aws" in proc.stderr
    assert (
        f"args: [--region, us-west-2, eks, get-token, --cluster-name, {CLUSTER}, --output, json]"
        in proc.stderr
    )


@needs_root
def test_init_refuses_the_hosts_path_to_aws(run_init, write_kubeconfig):
    """A kubeconfig written on macOS names Homebrew's aws: the fix is the bare ``aws``, same args."""
    write_kubeconfig(uid=50000, text=kubeconfig_text(command="/opt/homebrew/bin/aws"))
    proc = run_init()
    assert proc.returncode == 1
    assert "keep the args: only the path '/opt/homebrew/bin/aws' is the host's" in proc.stderr


@needs_root
def test_init_refuses_a_profile_the_containers_lack(run_init, write_kubeconfig):
    text = kubeconfig_text(env=[{"name": "AWS_PROFILE", "value": "admin"}])
    write_kubeconfig(uid=50000, text=text)
    proc = run_init()
    assert proc.returncode == 1
    assert "uses the AWS profile 'admin'" in proc.stderr and "remove it from the exec block" in proc.stderr


@needs_root
def test_init_refuses_a_missing_kubeconfig(run_init):
    proc = run_init()
    assert proc.returncode == 1 and "no kubeconfig file at" in proc.stderr
    assert "KUBECONFIG_HOST_PATH" in proc.stderr


def test_init_names_an_image_without_the_check(run_init, write_kubeconfig):
    write_kubeconfig()
    proc = run_init(image=False)
    assert proc.returncode == 1
    assert (
        "the image predates this docker-compose.yaml" in proc.stderr and "docker compose build" in proc.stderr
    )
