"""Benchmark: N concurrent deferred waits in one event loop, shared client against the provider's pattern.

    .venv/bin/python bench/bench_waits.py --write-docs            # the recorded run (~6 min)
    .venv/bin/python bench/bench_waits.py                         # same, print only
    .venv/bin/python bench/bench_waits.py --counts 1,50 --window 5 --baseline-counts 50   # quick check

The sandbox (its Kubernetes API emulator on TLS) runs in this process; each measurement runs in a fresh
child process, as a triggerer's trigger runner: N ``SageMakerK8sResourceTrigger.run()`` generators in one
asyncio loop, started at random offsets within one poll interval (waits begin at different times),
each polling its own TrainingJob CR, which stays ``InProgress`` (the operator emulator is stopped and the
CRs carry a status written as the controller would). Credentials come from an exec-plugin kubeconfig
(``Sandbox.exec_kubeconfig``: ``sandbox/token_command.py``, tokens valid 15 minutes as EKS's are), so
each plugin run is a real process start, as ``aws eks get-token`` is.

Two modes, the same trigger class:

* ``shared``: this project's hooks (``sagemaker_k8s.hooks.client_cache``): one client per loop, one token
  per process;
* ``provider``: the hook's previous implementation, a fresh ``AsyncKubernetesHook.get_conn()`` per poll
  (kubeconfig reloaded, exec plugin run, new connection pool and TLS handshake each time).

After a warm-up of one interval plus a second, a window of ``--window`` seconds is measured: CPU seconds
of the child (its threads plus the plugin processes it waited for) per completed poll, net of the idle
loop's own CPU; exec-plugin runs (the plugin's own log; the whole child run); API requests the emulator
logged from the plugin's user per poll; event-loop lag (a task that sleeps 50 ms and records how late it
wakes up) p50/p99; and RSS growth per waiting trigger.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from docs_section import DOCS, markers, write_section

ROOT = Path(__file__).resolve().parents[1]
START, END = markers("waits")
EXEC_USER = "sandbox-exec-admin"
TOKEN_TTL = 900.0
LAG_TICK = 0.05
#: Whether the run was representative depends on these (recorded in the docs).
DEFAULTS = {"counts": "1,50,200,1000", "baseline_counts": "1,50,200,1000", "interval": 5.0, "window": 15.0}
GOAL_CPU_RATIO = 10.0
GOAL_LAG_P99_MS = 100.0


# -- the child: N triggers in one loop ------------------------------------------------------------------


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _use_provider_pattern() -> None:
    """The hook's implementation before the shared client: a fresh provider client per call."""
    from sagemaker_k8s.hooks import kubernetes as hooks
    from sagemaker_k8s.hooks.retry import acall_with_retry

    async def _call(self, what, method, *args):
        from kubernetes_asyncio import client

        errors = hooks._transport_errors()

        async def once():
            try:
                async with self.provider_hook.get_conn() as api_client:
                    return await getattr(client.CustomObjectsApi(api_client), method)(*args)
            except errors as e:
                raise hooks._translate(e) from e

        return await acall_with_retry(once, self.backoff, what)

    hooks.AsyncSageMakerK8sHook._call = _call


def child(params: dict) -> dict:
    import logging

    logging.basicConfig(level=logging.WARNING)
    import kubernetes_asyncio.client  # noqa: F401 - imported before the baseline RSS, as in a triggerer

    from sagemaker_k8s.hooks import client_cache
    from sagemaker_k8s.hooks import kubernetes as hooks
    from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB as TJ
    from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger

    if params["mode"] == "provider":
        _use_provider_pattern()
    polls = 0
    get = hooks.AsyncSageMakerK8sHook.get

    async def counted_get(self, *args):
        nonlocal polls
        result = await get(self, *args)
        polls += 1
        return result

    hooks.AsyncSageMakerK8sHook.get = counted_get
    n, interval, window = params["n"], params["interval"], params["window"]

    async def main() -> dict:
        loop = asyncio.get_running_loop()
        lags: list[float] = []

        async def sample_lag():
            while True:
                started = loop.time()
                await asyncio.sleep(LAG_TICK)
                lags.append(loop.time() - started - LAG_TICK)

        ticker = asyncio.create_task(sample_lag())
        await asyncio.sleep(0.5)
        idle_cpu, idle_started = _cpu(), time.monotonic()
        await asyncio.sleep(2.0)
        idle_rate = (_cpu() - idle_cpu) / (time.monotonic() - idle_started)
        events: list[dict] = []
        rng = random.Random(n)

        async def wait(index: int, delay: float):
            await asyncio.sleep(delay)
            trigger = SageMakerK8sResourceTrigger(
                api_version=TJ.api_version, kind=TJ.kind, name=f"wait-{index}",
                namespace=params["namespace"], poll_interval=interval,
                ack_timeout=3600.0, reconciling_timeout=3600.0,
            )  # fmt: skip
            async for event in trigger.run():
                events.append(event.payload)

        # One wait first: the memory it brings once per process (lazy imports, the shared client) is
        # not counted per wait; RSS per wait is the growth from the other N - 1.
        tasks = [asyncio.create_task(wait(0, 0.0))]
        deadline = time.monotonic() + 60
        while polls == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        rss_before = _rss_kib()
        tasks += [asyncio.create_task(wait(i, rng.uniform(0, interval))) for i in range(1, n)]
        await asyncio.sleep(interval + 1.0)
        lags.clear()
        polls_before, cpu_before, started = polls, _cpu(), time.time()
        await asyncio.sleep(window)
        cpu_after, polls_after, ended = _cpu(), polls, time.time()
        load = os.getloadavg()[0]  # other processes competing for the cores inflate the loop lag
        lag_window = sorted(lags)
        rss_after = _rss_kib()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        clients = client_cache.loop_clients()
        acquired = sum(len(c.connector._acquired) for c in clients)
        await client_cache.close_clients()
        ticker.cancel()
        window_polls = polls_after - polls_before
        elapsed = ended - started
        cpu = cpu_after - cpu_before - idle_rate * elapsed
        return {
            "mode": params["mode"],
            "n": n,
            "window_started": started,
            "window_ended": ended,
            "polls": window_polls,
            "polls_per_s": window_polls / elapsed,
            "scheduled_polls_per_s": n / interval,
            "expected_polls": n * elapsed / interval,
            "cpu_s": cpu,
            "cpu_per_poll": cpu / window_polls if window_polls else math.nan,
            "idle_cpu_rate": idle_rate,
            "lag_p50_ms": _percentile(lag_window, 50) * 1000,
            "lag_p99_ms": _percentile(lag_window, 99) * 1000,
            "lag_max_ms": (lag_window[-1] if lag_window else math.nan) * 1000,
            "rss_per_wait_kib": (rss_after - rss_before) / (n - 1) if n > 1 else math.nan,
            "load": load,
            "events": events[:5],
            "clients": len(clients),
            "acquired_after_cancel": acquired,
        }

    return asyncio.run(main())


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return math.nan
    index = min(len(sorted_values) - 1, max(0, math.ceil(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


# -- the parent: sandbox, CRs, one child per (mode, N) ----------------------------------------------------


def _training_job(name: str, namespace: str) -> dict:
    from sagemaker_k8s.manifests.build import TrainingJobSpec, build_training_job
    from sagemaker_k8s.manifests.images import xgboost_image
    from sagemaker_k8s.manifests.load import load_template

    spec = TrainingJobSpec(
        cr_name=name, namespace=namespace, job_name=name, region="us-west-2",
        role_arn="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        image=xgboost_image("us-west-2"), bucket="bench-bucket", prefix="xgboost",
        instance_type="ml.m4.xlarge", instance_count=1, volume_size_gb=5, max_runtime_seconds=3600,
    )  # fmt: skip
    body = build_training_job(load_template("trainingjob.yaml"), spec)
    body["metadata"]["finalizers"] = ["sagemaker-operator-finalizer"]
    body["status"] = {"trainingJobStatus": "InProgress", "secondaryStatus": "Training"}
    return body


def run_child(params: dict, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(params)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"child {params} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(args) -> tuple[list[dict], dict]:
    from sandbox.kube.faults import RequestLog
    from sandbox.stack import Sandbox

    counts = [int(c) for c in args.counts.split(",") if c]
    baseline_counts = [int(c) for c in args.baseline_counts.split(",") if c]
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-waits-") as tmp,
        Sandbox(Path(tmp) / "sandbox", poll_interval=5.0) as sb,
    ):
        sb.misconfigure("operator-not-running")  # the CRs stay InProgress: nobody reconciles them
        sb.kube.request_log = RequestLog(500_000)
        namespace = sb.info.namespace
        for i in range(max(counts + baseline_counts)):
            sb.kube.apply(_training_job(f"wait-{i}", namespace))
        kubeconfig = sb.exec_kubeconfig(Path(tmp) / "exec-kubeconfig", token_ttl=TOKEN_TTL)
        plugin_log = Path(f"{kubeconfig}.invocations")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KUBECONFIG"))}
        home = Path(tmp) / "airflow-home"
        home.mkdir()
        conn = {"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
            AIRFLOW_CONN_KUBERNETES_DEFAULT=json.dumps(conn),
            SAGEMAKER_K8S_MANIFESTS_DIR=str(ROOT / "include" / "manifests"),
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
        )
        plan = [("shared", n) for n in counts] + [("provider", n) for n in baseline_counts]
        for mode, n in plan:
            sb.kube.clear_requests()
            plugin_log.unlink(missing_ok=True)
            started = time.time()
            params = {"mode": mode, "n": n, "interval": args.interval, "window": args.window}
            result = run_child({**params, "namespace": namespace}, env)
            result["child_seconds"] = time.time() - started
            t0, t1 = result["window_started"], result["window_ended"]
            requests = [r for r in sb.kube.requests if r.user == EXEC_USER or r.status == 401]
            in_window = [r for r in requests if t0 <= r.started < t1]
            runs = [json.loads(line) for line in plugin_log.read_text().splitlines()] if (
                plugin_log.exists()
            ) else []  # fmt: skip
            result.update(
                requests_per_poll=len(in_window) / result["polls"] if result["polls"] else math.nan,
                unauthorized=sum(1 for r in requests if r.status == 401),
                plugin_runs=len(runs),
                plugin_runs_in_window=sum(1 for r in runs if t0 <= r["at"] < t1),
            )
            results.append(result)
            print(_line(result), file=sys.stderr, flush=True)
    return results, {"interval": args.interval, "window": args.window, "token_ttl": TOKEN_TTL}


def _line(r: dict) -> str:
    return (
        f"{r['mode']:>8} N={r['n']:<5} polls {r['polls']:>6} ({r['polls_per_s']:.1f}/s of "
        f"{r['scheduled_polls_per_s']:.1f}/s)  cpu/poll {r['cpu_per_poll'] * 1000:8.2f} ms  plugin runs "
        f"{r['plugin_runs']:>5}  req/poll {r['requests_per_poll']:.2f}  lag p50 {r['lag_p50_ms']:.1f} "
        f"p99 {r['lag_p99_ms']:.1f} ms  rss/wait {r['rss_per_wait_kib']:.0f} KiB  401s {r['unauthorized']}  "
        f"acquired after cancel {r['acquired_after_cancel']}  events {len(r['events'])}  "
        f"({r['child_seconds']:.0f}s)"
    )


# -- report ----------------------------------------------------------------------------------------------


def render(results: list[dict], setup: dict) -> tuple[str, dict]:
    by = {(r["mode"], r["n"]): r for r in results}
    rows = []
    for r in results:
        note = (
            f" (saturated: {r['polls_per_s']:.0f} of {r['scheduled_polls_per_s']:.0f} polls/s)"
            if _saturated(r)
            else ""
        )
        polled = r["polls"] > 0
        cells = [
            str(r["n"]),
            ("shared client" if r["mode"] == "shared" else "provider, per poll") + note,
            str(r["polls"]),
            f"{r['cpu_s']:.2f}",
            f"{r['cpu_per_poll'] * 1000:.2f}" if polled else "n/a: no poll completed",
            str(r["plugin_runs"]),
            f"{r['plugin_runs_in_window'] / r['polls']:.2f}" if polled else "-",
            f"{r['requests_per_poll']:.2f}" if polled else "-",
            f"{r['lag_p50_ms']:.1f}",
            f"{r['lag_p99_ms']:.1f}",
            "-" if math.isnan(r["rss_per_wait_kib"]) else str(round(r["rss_per_wait_kib"])),
            f"{r['load']:.1f}",
        ]
        rows.append(f"| {' | '.join(cells)} |")
    shared = [r for r in results if r["mode"] == "shared"]
    plugin_ok = bool(shared) and all(r["plugin_runs"] <= 1 for r in shared)
    goals = {"plugin": plugin_ok}
    lines = [
        "| waits N | client | polls in window | CPU s in window | CPU ms per poll | exec-plugin runs (whole "
        "run) | plugin runs per poll | API requests per poll | loop lag p50 (ms) | loop lag p99 (ms) | "
        "RSS per wait (KiB) | load average |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"* Plugin runs independent of the number of polls (at most one per {setup['token_ttl'] / 60:.0f}-"
        f"minute token lifetime per process): **{'met' if plugin_ok else 'NOT met'}** "
        f"({', '.join(str(r['plugin_runs']) for r in shared)} run(s) for "
        f"{', '.join(str(r['n']) for r in shared)} waits).",
    ]
    s200, p200 = by.get(("shared", 200)), by.get(("provider", 200))
    if s200 and p200:
        ratio = p200["cpu_per_poll"] / s200["cpu_per_poll"]
        goals["cpu"] = ratio >= GOAL_CPU_RATIO
        lines.append(
            f"* CPU per poll at N = 200 at least {GOAL_CPU_RATIO:.0f}x below the provider's pattern: "
            f"**{'met' if goals['cpu'] else 'NOT met'}** ({p200['cpu_per_poll'] * 1000:.2f} ms against "
            f"{s200['cpu_per_poll'] * 1000:.2f} ms: {ratio:.0f}x)."
        )
    s1000 = by.get(("shared", 1000))
    if s1000:
        goals["lag"] = s1000["lag_p99_ms"] < GOAL_LAG_P99_MS
        lines.append(
            f"* 1,000 concurrent waits with p99 event-loop lag under {GOAL_LAG_P99_MS:.0f} ms: "
            f"**{'met' if goals['lag'] else 'NOT met'}** (p99 {s1000['lag_p99_ms']:.1f} ms, "
            f"max {s1000['lag_max_ms']:.1f} ms)."
        )
        per_core = 30.0 / s1000["cpu_per_poll"]
        goals["waits_per_core_at_30s"] = per_core
        lines.append(
            f"* Capacity: {s1000['cpu_per_poll'] * 1000:.2f} CPU-ms per poll at N = 1000 is "
            f"~{1 / s1000['cpu_per_poll']:.0f} polls per CPU-second, i.e. ~{_round(per_core)} waits per core "
            "at the DAG's default 30 s poll interval (CPU bound only; the API server's own limits are not "
            "in this number)."
        )
    return "\n".join(lines), goals


def _saturated(r: dict) -> bool:
    """Fewer than 80% of the polls the waits would make on time were made in the window."""
    return r["polls"] < 0.8 * r["expected_polls"]


def _round(value: float) -> str:
    magnitude = 10 ** max(0, int(math.log10(max(value, 1))) - 1)
    return f"{int(value // magnitude * magnitude):,}"


def machine() -> str:
    load = f", 1-min load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    system = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores, {system}{load}"


def docs_section(table: str, setup: dict, env: str, results: list[dict]) -> str:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    capped = [r["n"] for r in results if r["mode"] == "provider" and _saturated(r)]
    setup_text = (
        "N `SageMakerK8sResourceTrigger`s in one event loop (as the triggerer runs them), each "
        f"polling its own `InProgress` TrainingJob every {setup['interval']:g} s against the sandbox's "
        "Kubernetes API emulator over TLS, with an exec-plugin kubeconfig as `aws eks "
        "update-kubeconfig` writes (the sandbox's token command; tokens valid "
        f"{setup['token_ttl'] / 60:.0f} minutes). The waits start at random offsets within one "
        f"interval; after one interval of warm-up, a {setup['window']:g} s window is measured. "
        "*shared client*: this project's hooks (`hooks/client_cache.py`: one client per event loop "
        "and kubeconfig, one token per process, refreshed on expiry or 401). *provider, per poll*: "
        "the hooks' previous code, a fresh `AsyncKubernetesHook.get_conn()` per poll (kubeconfig "
        "reloaded, plugin run, new connection pool and TLS handshake each time)."
    )
    columns_text = (
        "CPU is the trigger process's (all its threads, plus the plugin processes it ran) per "
        "completed poll, net of the idle loop's. The sandbox's token command is a bare Python start "
        "(~20-30 ms of CPU), far cheaper than `aws eks get-token` (~0.5 CPU-s): on EKS the baseline "
        "costs more per poll. API requests are those the emulator logged from the plugin's user "
        "during the window. Loop lag is how late a task sleeping 50 ms wakes up. RSS per wait is the "
        "trigger process's RSS growth from the 2nd to the Nth wait divided by N - 1 (the first "
        "wait's imports and client are per process, not per wait). The last column is the machine's "
        "1-minute load average at the end of the window: the sandbox's API server shares the two "
        "cores, and any other load delays the loop too."
    )
    if capped:
        columns_text += (
            f" The provider's pattern cannot keep up at N = {', '.join(map(str, capped))}: those rows are "
            "marked *saturated*. Their figures are for the polls completed within the same window (some "
            "begun before it), which also caps the baseline's run time; the waits fell behind their "
            "interval, and a backlog of started polls makes their per-poll numbers noisy from run to run."
        )
    stalled = [r["n"] for r in results if r["mode"] == "provider" and r["polls"] == 0]
    if stalled:
        columns_text += (
            f" At N = {', '.join(map(str, stalled))} no poll completed within the window: the loop spent "
            "it starting plugin processes and TLS handshakes, and was not run longer."
        )
    measured = (
        f"Measured {today} on {env}. Generated by `bench/bench_waits.py`; do not edit by hand, rerun "
        "`.venv/bin/python bench/bench_waits.py --write-docs`."
    )
    fill = functools.partial(textwrap.fill, width=105, break_on_hyphens=False)
    return "\n".join(
        [
            START,
            "## Concurrent waits: one shared client against a client per poll",
            "",
            fill(setup_text),
            "",
            fill(columns_text),
            "",
            fill(measured),
            "",
            table,
            END,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--counts", default=DEFAULTS["counts"], help="waits per run, shared client")
    parser.add_argument("--baseline-counts", default=DEFAULTS["baseline_counts"], help="... provider pattern")
    parser.add_argument("--interval", type=float, default=DEFAULTS["interval"], help="poll interval (s)")
    parser.add_argument("--window", type=float, default=DEFAULTS["window"], help="measured seconds per run")
    parser.add_argument("--write-docs", action="store_true", help=f"update the section in {DOCS}")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
    env = machine()
    results, setup = measure(args)
    table, _ = render(results, setup)
    print(f"\nMachine: {env}\n")
    print(table)
    if args.write_docs:
        write_section("waits", docs_section(table, setup, env, results))
        print(f"\nupdated {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
