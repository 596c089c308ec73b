"""The operator's admin in headless Chromium against the live server and a real worker: log in,
test a connection (valid, then revoked), resume a paused config, sync now and watch the run
succeed in the runs list. A screenshot of each page goes to var/screenshots/."""

import shutil
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from sync.models import SyncConfig, SyncRun
from tests.fakes.github import FakeGitHub
from tests.support.admin_urls import admin_change_url
from tests.sync.conftest import git_config, git_remote, repo  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "var" / "screenshots"
TOKEN = "ghp_admin_browser"


@pytest.fixture
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "chromium and chromium-driver are installed by .ci/run"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.implicitly_wait(10)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


class Operator:
    def __init__(self, driver, base: str) -> None:
        self.driver, self.base, self.shots = driver, base, 0

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def shot(self, name: str) -> Path:
        self.shots += 1
        path = SHOTS / f"{self.shots:02d}-{name}.png"
        assert self.driver.save_screenshot(str(path)), path
        return path

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def messages(self) -> list[tuple[str, str]]:
        items = self.driver.find_elements(By.CSS_SELECTOR, "ul.messagelist li")
        return [(li.get_attribute("class"), li.text) for li in items]

    def submit(self, css: str) -> None:
        """Click the form button ``css`` and wait until the answer's page has replaced this one
        (reading the old page meanwhile would race with the navigation)."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.find_element(By.CSS_SELECTOR, css).click()
        WebDriverWait(self.driver, 120).until(expected_conditions.staleness_of(page))
        WebDriverWait(self.driver, 120).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def act_on_all(self, action: str) -> None:
        """Tick every row of the change list and run ``action`` (the admin's "Go" button)."""
        self.driver.find_element(By.ID, "action-toggle").click()
        Select(self.driver.find_element(By.NAME, "action")).select_by_value(action)
        self.submit("button[name=index]")  # answered with a redirect to the list


def _wait(condition, what: str, seconds: float = 180, detail=lambda: ""):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {detail()}"
        time.sleep(0.5)
    return result


def test_operator_tests_a_connection_resumes_and_syncs_now(
        api, repo, git_remote, git_config, live_server, live_worker, browser,  # noqa: F811
        tmp_path):
    User.objects.create_superuser("op", "op@example.com", "op-pass-1")
    git_remote.work.write("README.md", "from the remote\n")
    git_remote.work.commit("first")
    git_remote.work.push()
    SyncConfig.objects.update(auto_sync=True, auto_sync_paused=True, consecutive_failures=10)
    gh = FakeGitHub(tmp_path / "gh")
    gh.add_token(TOKEN, login="octocat")
    op = Operator(browser, live_server.url)

    op.open("/admin/login/?next=/admin/")
    op.shot("login")
    browser.find_element(By.NAME, "username").send_keys("op")
    browser.find_element(By.NAME, "password").send_keys("op-pass-1")
    op.submit("input[type=submit]")
    assert "Site administration" in op.text()
    op.shot("admin-index")

    with gh.mock() as rsps:  # the live server runs in this process: the fake answers it
        rsps.add_passthru(live_server.url)
        made = api.post("/v1/connections", {"provider": "github", "label": "Octo GH",
                        "access_token": TOKEN}, format="json")
        assert made.status_code == 201, made.json()
        op.open("/admin/connections/connection/")
        op.act_on_all("test_connections")
        assert op.messages() == [("success", "Octo GH: valid (octocat)")]
        op.shot("connection-test-valid")
        del gh.tokens[TOKEN]  # revoked on GitHub's side
        op.act_on_all("test_connections")
        [(level, text)] = op.messages()
        assert level == "error" and "Bad credentials" in text and TOKEN not in op.text()
        op.shot("connection-test-failed")

    op.open("/admin/sync/syncconfig/")
    assert browser.find_element(By.CSS_SELECTOR, ".coregit-paused").text == "paused"
    op.shot("config-paused")
    op.act_on_all("resume_auto_sync")
    assert op.messages() == [("success", "Acme/app: auto-sync resumed")]
    assert not browser.find_elements(By.CSS_SELECTOR, ".coregit-paused")
    assert not SyncConfig.objects.get().auto_sync_paused
    op.shot("config-resumed")

    op.act_on_all("sync_now")
    [(level, text)] = op.messages()
    run = SyncRun.objects.get()
    assert level == "success" and text == f"Acme/app: run {run.id} queued"
    op.shot("sync-now")

    def run_row_succeeded() -> bool:
        op.open("/admin/sync/syncrun/")
        rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
        return len(rows) == 1 and run.id in rows[0].text and "success" in rows[0].text.lower()

    _wait(run_row_succeeded, "the run to show success in the runs list",
          detail=lambda: SyncRun.objects.values("status", "message").get())
    op.shot("runs-success")
    assert SyncRun.objects.get().status == "success"

    filtered = "/admin/sync/syncrun/?status__exact=success&trigger__exact=api"
    op.open(filtered + "&config__provider__exact=git")
    assert run.id in op.text()
    op.shot("runs-filtered")
    op.open(filtered + "&config__provider__exact=github")
    assert run.id not in op.text()

    op.open(admin_change_url(run))
    assert run.id in op.text() and not browser.find_elements(By.NAME, "_save")
    op.shot("run-read-only")
    op.open("/admin/sync/webhookdelivery/")
    assert not browser.find_elements(By.CSS_SELECTOR, "#content .object-tools a.addlink")
    op.shot("deliveries")
    assert len(list(SHOTS.glob("*.png"))) >= op.shots
