"""The HTML pages in a real headless browser: the report loads without console errors, has a row
per engine, and its filters hide answers; every shipped page fits a 1,400 px window.

Chromium and its WebDriver come from Debian (``apt-get install chromium chromium-driver``, which
``.ci/run`` does); where they are missing the test skips, except under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from continual_learning.harness.html_report import write_html
from continual_learning.types import ComparisonReport

from helpers import REPO, cli

REPORT = REPO / "assets" / "compare-facts.json"


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    driver_path = shutil.which("chromedriver")
    if driver_path is None or shutil.which("chromium") is None:
        message = "chromium and chromedriver are not installed (apt-get install chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


def _visible_rows(browser) -> int:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    rows = browser.find_elements(By.CSS_SELECTOR, "#answers tbody tr")
    return sum(row.is_displayed() for row in rows)


def test_the_page_loads_and_its_filters_hide_answers(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    report = ComparisonReport.from_dict(json.loads(REPORT.read_text()))
    page = tmp_path / "report.html"
    write_html(report, page)
    browser.get(page.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    summary = browser.find_elements(By.CSS_SELECTOR, "#summary tbody tr")
    assert [row.find_element(By.TAG_NAME, "td").text for row in summary] == [
        r.label for r in report.engines
    ]
    everything = sum(len(r.answers) for r in report.engines)
    assert _visible_rows(browser) == everything
    Select(browser.find_element(By.ID, "engine-filter")).select_by_value("jitrl-mvp")
    assert _visible_rows(browser) == 48
    Select(browser.find_element(By.ID, "result-filter")).select_by_value("wrong")
    mvp = next(r for r in report.engines if r.label == "jitrl-mvp")
    wrong = sum(a.score.contains < 1.0 for a in mvp.answers)
    assert 0 < wrong < 48
    assert _visible_rows(browser) == wrong
    assert browser.find_element(By.ID, "shown").text == str(wrong)


def test_report_command_writes_the_page_from_a_saved_json(tmp_path: Path) -> None:
    pages, predictions = tmp_path / "r.html", tmp_path / "predictions"
    result = cli("report", str(REPORT), "--html", str(pages), "--predictions", str(predictions))
    assert result.returncode == 0, result.stderr
    text = pages.read_text()
    assert "data:image/png;base64," in text and "http" + "s://" not in text
    written = json.loads((predictions / "jitrl-mvp.json").read_text())
    assert len(written) == 48  # the facts, one official answer each
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"engines": [{"nonsense": 1}]}))
    refused = cli("report", str(broken), "--html", str(tmp_path / "x.html"))
    assert refused.returncode == 3
    assert "is not a comparison or stream report" in refused.stderr
    assert not (tmp_path / "x.html").exists()


def test_the_architecture_page_shows_every_registered_engine(browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    from continual_learning.engines.registry import engine_names

    browser.get((REPO / "assets" / "architecture.html").as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    rows = browser.find_elements(By.CSS_SELECTOR, "#engines tr[data-engine]")
    assert [row.get_attribute("data-engine") for row in rows] == engine_names()


def test_the_architecture_page_is_what_the_registry_says_now() -> None:
    script = REPO / "scripts" / "architecture_page.py"
    checked = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stderr


WINDOW = 1400
SHIPPED_PAGES = sorted((REPO / "assets").rglob("*.html"))


def _overflow(browser, page: Path) -> dict:  # type: ignore[no-untyped-def]
    """How far the page is wider than the window, and images drawn smaller than they are."""
    browser.set_window_size(WINDOW, 900)
    browser.get(page.as_uri())
    return browser.execute_script(
        """
        const width = document.documentElement.clientWidth;
        const shrunk = [...document.images]
            .filter(i => i.getBoundingClientRect().width < 0.9 * i.naturalWidth)
            .map(i => [i.alt, i.naturalWidth, Math.round(i.getBoundingClientRect().width)]);
        return {extra: document.documentElement.scrollWidth - width, shrunk: shrunk};
        """
    )


@pytest.mark.parametrize(
    "page", SHIPPED_PAGES, ids=[str(p.relative_to(REPO / "assets")) for p in SHIPPED_PAGES]
)
def test_every_shipped_page_fits_a_1400_px_window(browser, page: Path) -> None:  # type: ignore[no-untyped-def]
    """No sideways scrolling, and no chart shrunk below 90% of the size it was drawn at (its
    text would be too small to read)."""
    assert _overflow(browser, page) == {"extra": 0, "shrunk": []}


def test_an_answer_without_spaces_wraps_inside_its_cell(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(REPORT.read_text())
    data["engines"][0]["answers"][0]["answer"] = "Glasswind" * 30  # 270 characters, no space
    page = tmp_path / "long.html"
    write_html(ComparisonReport.from_dict(data), page)
    assert _overflow(browser, page) == {"extra": 0, "shrunk": []}
