"""Every shipped scenario's report in a real browser: Debian's chromium, headless, driven by
Selenium through chromium-driver (`make system-deps` installs both; this test is never skipped).
The page loads with no console error (a script error or a Content-Security-Policy violation would
be one), its answer is on the first screen, sorting a table reorders its rows, the variant
selector hides the other variants, and the theme toggle changes the background. A screenshot of
each first screen is saved under out/screenshots/ (CI keeps them)."""

from __future__ import annotations

import shutil

import pytest
from conftest import REPO, SHIPPED_REPORTS

SCREENSHOTS = REPO / "out" / "screenshots"
WIDTH, HEIGHT = 1280, 900


@pytest.fixture(scope="module")
def browser():
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: run `make system-deps` (Debian's chromium and "
                    "chromium-driver)", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--no-first-run", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver is given by path: Selenium never looks for (or downloads) one itself
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _viewport(browser) -> None:
    """The window sized so the page's viewport is WIDTH x HEIGHT."""
    browser.set_window_size(WIDTH, HEIGHT)
    inner = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    browser.set_window_size(2 * WIDTH - inner[0], 2 * HEIGHT - inner[1])


SORTABLE = """
// the first sortable table with a numeric column of at least three distinct values not already in
// descending order: [table index, column index]
const tables = Array.from(document.querySelectorAll("table.sortable"));
for (let t = 0; t < tables.length; t++) {
  const head = tables[t].tHead.rows[0].cells;
  for (let c = 0; c < head.length; c++) {
    if (!head[c].classList.contains("num")) continue;
    const v = Array.from(tables[t].tBodies[0].rows, r => parseFloat(r.cells[c].getAttribute("data-sort")));
    if (v.some(Number.isNaN) || new Set(v).size < 3) continue;
    if (v.some((x, i) => i && v[i - 1] < x)) return [t, c];
  }
}
return null;
"""
COLUMN = """
const table = document.querySelectorAll("table.sortable")[arguments[0]];
return Array.from(table.tBodies[0].rows, r => parseFloat(r.cells[arguments[1]].getAttribute("data-sort")));
"""


@pytest.mark.parametrize("name", SHIPPED_REPORTS)
def test_report_in_a_browser(browser, shipped_report, name):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = shipped_report(name) / "report.html"
    _viewport(browser)
    browser.get(page.as_uri())
    assert browser.find_element(By.CSS_SELECTOR, ".controls").is_displayed()   # the script ran

    # the first screen holds the question and its answer
    answer = browser.find_element(By.CSS_SELECTOR, "p.answer")
    top, bottom = browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom]",
                                         answer)
    assert 0 < top < bottom <= browser.execute_script("return window.innerHeight")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    # sorting: a click on a numeric heading sorts by it, descending, then ascending
    found = browser.execute_script(SORTABLE)
    assert found is not None, "no sortable column to try"
    t, c = found
    before = browser.execute_script(COLUMN, t, c)
    heading = browser.find_elements(By.CSS_SELECTOR, "table.sortable")[t].find_elements(By.TAG_NAME, "th")[c]
    browser.execute_script("arguments[0].scrollIntoView()", heading)
    heading.click()
    after = browser.execute_script(COLUMN, t, c)
    assert after != before and after == sorted(before, reverse=True)
    heading.click()
    assert browser.execute_script(COLUMN, t, c) == sorted(before)

    # the variant selector: one variant hides the others' blocks and chart lines; "all" shows them again
    select = Select(browser.find_element(By.ID, "variant-select"))
    variants = len(select.options) - 1
    shown = "return Array.from(document.querySelectorAll(arguments[0]), e => getComputedStyle(e).display !== 'none')"
    chosen = str(variants - 1)
    select.select_by_value(chosen)
    for v in range(variants):
        blocks = browser.execute_script(shown, f'div.block[data-variant="{v}"]')
        lines = browser.execute_script(shown, f'svg [data-variant="{v}"]')
        assert blocks and set(blocks) == {str(v) == chosen}
        assert set(lines) <= {str(v) == chosen}
    if variants > 1:
        assert browser.execute_script(shown, 'svg g.series[data-variant="0"]') != []
    select.select_by_value("all")
    assert all(browser.execute_script(shown, "[data-variant]"))

    # the theme toggle changes the background
    background = "return getComputedStyle(document.body).backgroundColor"
    light = browser.execute_script(background)
    browser.find_element(By.ID, "theme-toggle").click()
    dark = browser.execute_script(background)
    assert dark != light
    browser.find_element(By.ID, "theme-toggle").click()
    assert browser.execute_script(background) == light

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []


def test_guest_report_in_a_browser(browser, tmp_path):
    """A guest run's page (QEMU for real): the answer on the first screen, every check of the
    differential in a table, the script running under the page's CSP, no console error."""
    from selenium.webdriver.common.by import By

    from sim.scenario import run_scenario

    result = run_scenario("guest-numa", ["workload.ops=20000"], out=tmp_path, guest={})
    assert result.report["matches_model"]
    _viewport(browser)
    browser.get((tmp_path / "report.html").as_uri())
    assert browser.find_element(By.CSS_SELECTOR, ".controls").is_displayed()   # the script ran
    answer = browser.find_element(By.CSS_SELECTOR, "p.answer")
    assert answer.text.startswith("Yes: over 20,000 records") and "all 8 checks agree" in answer.text
    assert answer.rect["y"] + answer.rect["height"] <= browser.execute_script("return window.innerHeight")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOTS / "guest-numa.png"))
    checks = browser.find_elements(By.CSS_SELECTOR, "table.sortable")[0]
    rows = [r.text for r in checks.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert len(rows) == len(result.report["comparison"]["checks"]) and all(r.endswith("yes") for r in rows)
    background = "return getComputedStyle(document.body).backgroundColor"
    light = browser.execute_script(background)
    browser.find_element(By.ID, "theme-toggle").click()
    assert browser.execute_script(background) != light
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
