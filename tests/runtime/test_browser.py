"""The UI path in a real browser: Debian's chromium driven by Playwright against the local api-server.

Log in, open the DAG, fill the trigger form (S3 prefix, maximum runtime, smoke-test rows), trigger,
wait until the run page shows every task green, and check that the custom resources carry what was
typed. A second case types an invalid prefix: the form shows Airflow's validation error and no run is
created. Screenshots go to ``.artifacts/runtime/``.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
from collections.abc import Iterator

import pytest

from devtools.airflow_runs import DAG_ID
from devtools.local_airflow import USERNAME
from tests.helpers import dag_task_ids
from tests.runtime.runtime_helpers import ARTIFACTS, wait_awaiting_input

pytestmark = pytest.mark.runtime

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed; chromium would keep trying
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("SAGEMAKER_K8S_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    path = chromium_path()
    if path is None:
        if os.environ.get("SAGEMAKER_K8S_REQUIRE_RUNTIME"):
            pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, runtime, scheduled_run):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{runtime.airflow.url}/dags/{DAG_ID}")  # redirects to the login page
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", runtime.airflow.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/dags/{DAG_ID}**")
    yield page
    context.close()


def open_trigger_form(page):
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    page.wait_for_load_state("networkidle")  # the form is filled from queries; edit it only afterwards
    return dialog


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)


def test_trigger_form_run_goes_green_and_reaches_the_crs(page, runtime):
    api, kube = runtime.api, runtime.sandbox.kube
    dialog = open_trigger_form(page)
    dialog.locator("input[name=element_s3_prefix]").fill("typed-in-the-form")
    dialog.locator("input[name=element_max_runtime_seconds]").fill("7200")
    dialog.locator("input[name=element_smoke_test_rows]").fill("150")
    dialog.locator("input[name=element_s3_prefix]").scroll_into_view_if_needed()
    shot(page, "trigger-form.png")

    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/dagRuns")) as posted:
        dialog.get_by_test_id("trigger-dag-submit").click()
    sent = json.loads(posted.value.post_data)["conf"]  # what the form sent for what was typed
    assert (sent["s3_prefix"], sent["max_runtime_seconds"], sent["smoke_test_rows"]) == (
        "typed-in-the-form",
        7200,
        150,
    )
    page.wait_for_url(f"**/dags/{DAG_ID}/runs/**")
    run_id = urllib.parse.unquote(page.url.rsplit("/runs/", 1)[1].split("/")[0].split("?")[0])
    run = api.run(DAG_ID, run_id)
    assert run["run_type"] == "manual"
    assert run["conf"]["s3_prefix"] == "typed-in-the-form"
    assert run["conf"]["max_runtime_seconds"] == 7200
    assert run["conf"]["smoke_test_rows"] == 150

    assert api.wait_run(DAG_ID, run_id, timeout=600)["state"] == "success"
    page.reload()
    page.get_by_text(f"{len(dag_task_ids())} Task Instances").wait_for()
    rows = page.locator("table tbody tr")
    rows.first.wait_for()
    states = [row.inner_text() for row in rows.all()]
    assert len(states) == len(dag_task_ids()), states
    assert all("Success" in s or "Skipped" in s for s in states), states
    shot(page, "finished-run.png")

    (training,) = [
        cr
        for cr in kube.list_objects("sagemaker.aws.amazon.com/v1", "trainingjobs")
        if "/typed-in-the-form/" in cr["spec"]["outputDataConfig"]["s3OutputPath"]
    ]
    assert training["spec"]["stoppingCondition"]["maxRuntimeInSeconds"] == 7200
    assert training["status"]["trainingJobStatus"] == "Completed"
    # Earlier runs made a champion: the gate compared this run's model with it, one way or the other.
    decision = api.xcom(DAG_ID, run_id, "evaluate_challenger", key="decision")
    assert decision["challenger"]["model_uri"] == training["status"]["modelPath"]
    assert decision["champion"] is not None
    if decision["action"] == "promote":
        assert api.xcom(DAG_ID, run_id, "smoke_test_endpoint")["rows"] == 150
    else:
        assert api.xcom(DAG_ID, run_id, "keep_champion")["reason"] == decision["reason"]


def test_invalid_value_shows_the_error_and_creates_no_run(page, runtime):
    before = {r["dag_run_id"] for r in runtime.api.runs(DAG_ID)}
    dialog = open_trigger_form(page)
    dialog.locator("input[name=element_s3_prefix]").fill("not a/valid//prefix")
    dialog.get_by_test_id("trigger-dag-submit").click()
    error = dialog.get_by_text("Invalid input for param s3_prefix")
    error.wait_for()
    assert "not a/valid//prefix" in error.inner_text()
    error.scroll_into_view_if_needed()
    shot(page, "trigger-form-invalid.png")
    assert dialog.is_visible()  # the form stays open for a fix
    assert {r["dag_run_id"] for r in runtime.api.runs(DAG_ID)} == before


def test_a_person_approves_the_promotion_in_the_browser(page, runtime):
    """``require_approval``: the run waits on its Required Actions page, which shows the gate's
    comparison; pressing Approve there resumes the run and the new model goes live."""
    api = runtime.api
    conf = {"require_approval": True, "force_promote": True, "s3_prefix": "approved-in-the-browser"}
    run_id = api.trigger(DAG_ID, conf)["dag_run_id"]
    wait_awaiting_input(runtime, run_id, "approve_promotion")
    quoted = urllib.parse.quote(run_id, safe="")
    page.goto(f"{runtime.airflow.url}/dags/{DAG_ID}/runs/{quoted}/tasks/approve_promotion/required_actions")
    page.get_by_text("Promote ", exact=False).first.wait_for()
    page.get_by_text("validation:merror").first.wait_for()  # the comparison table in the body
    shot(page, "approval-required-action.png")
    page.get_by_role("button", name="Approve").first.click()
    run = api.wait_run(DAG_ID, run_id, timeout=600)
    states = {t: ti["state"] for t, ti in api.task_instances(DAG_ID, run_id).items()}
    assert run["state"] == "success", states
    assert states["promote_endpoint"] == states["record_champion"] == "success"
    detail = api.hitl_detail(DAG_ID, run_id, "approve_promotion")
    assert detail["chosen_options"] == ["Approve"] and detail["responded_by_user"]["name"] == USERNAME
