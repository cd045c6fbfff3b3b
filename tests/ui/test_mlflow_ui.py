"""``mlflow ui`` in a real browser (opt-in: ``make test-ui``).

A project copy runs the sample's evaluations with DVC (the real stages, a tiny network, a few
frames), ``mlflow ui`` serves its store on a loopback port, and Debian's Chromium (headless,
driven through chromedriver) opens the h2h-evaluate experiment's runs table and the compare view
of the variants. The page as rendered, after its scripts ran, must show every evaluation run
with its variant and metric values as MLflow formats them, and the screenshot of each view must
show them too (the cells holding them lie inside it and are not blank). The screenshots are kept
in ``logs/test-ui/``. The tests are marked ``ui`` and deselected by default (pyproject.toml).
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.entities import Run

from tests.support.project import ROOT, run, sample_project, tool_env

pytestmark = pytest.mark.ui

SCREENSHOTS = ROOT / "logs" / "test-ui"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Headless as root, with no network beyond loopback: no sandbox, and none of the background
# requests (updates, sync, QUIC probes) that would only fail.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
WIDTH = 3000  # every column of the runs table on screen
WAIT_S = 180  # the UI's first load on a busy 2-core machine
# MLflow 3.17 opens experiments in its GenAI views unless the Model training switch is on; the
# switch keeps its state in the page address.
MODEL_TRAINING = "workflowType=machine_learning"


@dataclass(frozen=True)
class Evaluations:
    project: Path
    experiment_id: str
    runs: list[Run]


@pytest.fixture(scope="module")
def evaluations(tmp_path_factory) -> Evaluations:
    """The sample project after ``dvc repro evaluate``, and its evaluation runs in MLflow."""
    project = sample_project(tmp_path_factory.mktemp("ui"))
    run(["dvc", "repro", "evaluate"], project)
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("h2h-evaluate")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == [
        "evaluate:obama_by_dpe_man_face", "evaluate:obama_by_dpe_man_head", "evaluate:obama_self",
        "evaluate:obama_self_no_eyes"]
    assert {r.data.tags["variant"] for r in runs} == {"full", "no_eyes"}
    return Evaluations(project, experiment.experiment_id, runs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def mlflow_ui(evaluations) -> Iterator[str]:
    """``mlflow ui`` on the project's store at a free loopback port; stopped by its process id
    (its process group: the server's uvicorn workers included)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(evaluations.project / "mlflow-ui.log", "w")
    server = subprocess.Popen(
        ["mlflow", "ui", "--backend-store-uri", f"sqlite:///{evaluations.project / 'mlflow.db'}",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=evaluations.project, env=tool_env(), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT_S
        while not serving(url):
            assert server.poll() is None and time.monotonic() < deadline, \
                (evaluations.project / "mlflow-ui.log").read_text()
            time.sleep(1)
        yield url
    finally:
        stop(server)
        log.close()
    assert not serving(url)


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (whose id is the server's process id), SIGKILL to
    whatever is left of it a minute later."""
    def running() -> bool:
        server.poll()  # reaps the server itself once it has exited
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            return False
        return True

    os.killpg(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while running() and time.monotonic() < deadline:
        time.sleep(0.2)
    if running():
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Any]:
    """Chromium through chromedriver, with a fresh profile."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: `make test-ui` installs Debian's chromium "
                    "and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
                 f"--window-size={WIDTH},1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def js_number(value: float) -> str:
    """A number as JavaScript's String(value) writes it (the runs table shows metrics so): the
    shortest digits that give the number back, positional from 1e-6 to 1e21."""
    if math.isnan(value) or math.isinf(value):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    if 1e-6 <= abs(value) < 1e21:
        return np.format_float_positional(value, trim="-")
    mantissa, exponent = repr(value).split("e")
    return f"{mantissa}e{int(exponent):+d}"


def compare_view_number(value: float) -> str:
    """A metric as MLflow's compare view writes it (Utils.formatMetric of MLflow's UI)."""
    def rounded(scale: int) -> str:
        return js_number(math.floor(value * scale + 0.5) / scale)

    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        mantissa, exponent = f"{value:.3e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return rounded(1000) if abs(value) < 10 else rounded(100) if abs(value) < 100 else rounded(10)


T = TypeVar("T")


def until(read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """``read()`` every half second until ``done`` holds of it or :data:`WAIT_S` pass; the last
    value either way (the test's assertions then say what is missing)."""
    deadline = time.monotonic() + WAIT_S
    while not done(value := read()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return value


def text_of(driver: Any) -> str:
    return driver.execute_script("return document.body.innerText")


def click(driver: Any, xpath: str) -> None:
    """Click the first element at ``xpath`` once the page has one."""
    from selenium.webdriver.common.by import By

    found = until(lambda: driver.find_elements(By.XPATH, xpath), bool)
    assert found, f"nothing at {xpath}"
    found[0].click()


def close_assistant(driver: Any) -> None:
    """Close the MLflow Assistant panel, which covers the right third of every view, if it is
    open (the browser remembers it closed). Called once the view's data is on the page."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.XPATH, "//button[@aria-label='Close']")[:1]:
        button.click()


def save_screenshot(driver: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    assert driver.save_screenshot(str(path)), path
    return path


def assert_shown(screenshot: Path, cells: list[dict[str, Any]]) -> None:
    """Every cell is on screen (the page's topmost element at its centre is the cell or inside
    it), lies inside the screenshot, and the screenshot has text there: strokes far darker than
    the light table background (grey text on cream where the variants differ)."""
    image = cv2.imread(str(screenshot), cv2.IMREAD_GRAYSCALE)
    height, width = image.shape
    for cell in cells:
        x, y, w, h = (round(v) for v in cell["box"])
        assert cell["visible"] and 0 <= x and x + w <= width and 0 <= y and y + h <= height, cell
        crop = image[y:y + h, x:x + w]
        assert crop.max() > 200 and crop.max() - crop.min() > 90, cell


# A cell of a table on the page: its text, its box and whether it is the topmost element there.
CELL = """
    const described = (cell, text) => {
      const box = cell.getBoundingClientRect();
      const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
      return {text: text, box: [box.x, box.y, box.width, box.height],
              visible: top !== null && cell.contains(top)};
    };"""
# The runs table's cells by run id and column id (``metrics.`apd```, ``tags.`variant```, ...);
# a name cell has the run's colour on a line above the name. Names and values are in separate
# parts of the table; the rows of one run share its id.
RUNS_TABLE_CELLS = CELL + """
    const rows = {};
    for (const cell of document.querySelectorAll('[role=row][row-id] [role=gridcell]')) {
      const id = cell.closest('[role=row]').getAttribute('row-id');
      (rows[id] = rows[id] || {})[cell.getAttribute('col-id')] =
        described(cell, cell.innerText.trim().split('\\n').pop());
    }
    return rows;"""


def test_the_runs_table_shows_every_evaluation_with_its_variant_and_metrics(
        evaluations, mlflow_ui, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(WIDTH, 1400)
    browser.get(f"{mlflow_ui}/#/experiments/{evaluations.experiment_id}?{MODEL_TRAINING}")
    names = [r.info.run_name for r in evaluations.runs]
    page = until(lambda: text_of(browser), lambda text: all(name in text for name in names))
    assert all(name in page for name in names), page
    close_assistant(browser)
    # Show the metric columns and the variant tag, as a user does in the Columns menu.
    click(browser, "//button[normalize-space()='Columns']")
    metrics = {key for r in evaluations.runs for key in r.data.metrics}
    for title in (f"Metrics ({len(metrics)})", "variant"):
        click(browser, f"//span[@title='{title}']/ancestor::div[contains(@class, 'treenode')][1]"
                       "//span[substring(@class, string-length(@class) - 12) = 'tree-checkbox']")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)

    def expected(r: Run) -> dict[str, str]:
        return {"attributes.`Run Name`": r.info.run_name, "tags.`variant`": r.data.tags["variant"],
                **{f"metrics.`{key}`": js_number(value) for key, value in r.data.metrics.items()}}

    def shown(rows: dict[str, dict[str, dict[str, Any]]], r: Run) -> dict[str, str]:
        cells = rows.get(r.info.run_id, {})
        return {column: cells[column]["text"] for column in expected(r) if column in cells}

    rows = until(lambda: browser.execute_script(RUNS_TABLE_CELLS),
                 lambda rows: all(shown(rows, r) == expected(r) for r in evaluations.runs))
    screenshot = save_screenshot(browser, "runs-table.png")
    for r in evaluations.runs:
        assert shown(rows, r) == expected(r)
        assert_shown(screenshot, [rows[r.info.run_id][column] for column in expected(r)])


# The compare view's metric tables (one of metric names, one of their values by run): each
# cell as CELL describes it, and its position in its table.
METRIC_GRIDS = CELL + """
    return [...document.querySelectorAll('.ReactVirtualized__Grid')].map(grid =>
      [...grid.querySelectorAll('.ReactVirtualized__Grid__innerScrollContainer > div')]
        .map(cell => ({...described(cell, cell.textContent.trim()),
                       top: parseFloat(cell.style.top), left: parseFloat(cell.style.left)})));"""

def table_row(driver: Any, label: str) -> list[dict[str, Any]]:
    """The cells of the compare view's table row that starts with ``label``, as CELL describes
    them."""
    from selenium.webdriver.common.by import By

    row = driver.find_element(By.XPATH, f"//tr[*[normalize-space()='{label}']]")
    return [driver.execute_script(CELL + "return described(arguments[0], arguments[1]);",
                                  cell, cell.text)
            for cell in row.find_elements(By.XPATH, "./th|./td")]


def test_the_compare_view_shows_the_variants_side_by_side(evaluations, mlflow_ui, browser):
    """The ablation of the sample: obama's self reenactment by the full and the no-eyes model."""
    variants = [r for r in evaluations.runs if r.data.tags["mode"] == "self"]
    assert sorted(r.data.tags["variant"] for r in variants) == ["full", "no_eyes"]
    metrics = sorted(variants[0].data.metrics)
    browser.set_window_size(WIDTH, 2900)  # the run details below the charts, on screen
    ids = urllib.parse.quote(json.dumps([r.info.run_id for r in variants]))
    experiments = urllib.parse.quote(json.dumps([evaluations.experiment_id]))
    browser.get(f"{mlflow_ui}/#/compare-runs?runs={ids}&experiments={experiments}&"
                f"{MODEL_TRAINING}")

    def names_of(grid: list[dict[str, Any]]) -> list[str]:
        return sorted(cell["text"] for cell in grid)

    grids = until(lambda: browser.execute_script(METRIC_GRIDS),
                  lambda grids: any(names_of(grid) == metrics for grid in grids))
    assert [names_of(grid) for grid in grids if names_of(grid) == metrics], grids
    close_assistant(browser)
    grids = browser.execute_script(METRIC_GRIDS)  # the boxes once the panel is gone
    names = next(grid for grid in grids if names_of(grid) == metrics)
    values = next(grid for grid in grids if len(grid) == len(metrics) * len(variants))
    # The runs' order in the view: its row of run ids.
    header = [cell["text"] for cell in table_row(browser, "Run ID:")]
    order = sorted(variants, key=lambda r: header.index(r.info.run_id))
    metric_at = {cell["top"]: cell["text"] for cell in names}
    columns = sorted({cell["left"] for cell in values})
    table = {(metric_at[c["top"]], order[columns.index(c["left"])].info.run_id): c["text"]
             for c in values}
    assert table == {(key, r.info.run_id): compare_view_number(value)
                     for r in variants for key, value in r.data.metrics.items()}
    run_names, tags = table_row(browser, "Run Name:"), table_row(browser, "variant")
    assert [c["text"] for c in run_names] == ["Run Name:", *(r.info.run_name for r in order)]
    assert [c["text"] for c in tags] == ["variant", *(r.data.tags["variant"] for r in order)]
    # The metric table shows six rows at a time and scrolls (its rows are all in the page):
    # the screenshot has the runs, their variants and the metric rows on screen.
    screenshot = save_screenshot(browser, "compare-variants.png")
    on_screen = [cell for cell in names + values if cell["visible"]]
    assert len({cell["top"] for cell in on_screen}) >= 6
    assert_shown(screenshot, on_screen + run_names)
    # The tags come after the parameters, which grow with what each run records: scrolled to,
    # the variant row is on screen in a second screenshot.
    from selenium.webdriver.common.by import By

    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});",
                           browser.find_element(By.XPATH, "//tr[*[normalize-space()='variant']]"))
    tags = table_row(browser, "variant")
    assert [c["text"] for c in tags] == ["variant", *(r.data.tags["variant"] for r in order)]
    assert_shown(save_screenshot(browser, "compare-variants-tags.png"), tags)
