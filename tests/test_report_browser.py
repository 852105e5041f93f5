"""The small demo's Snakemake report in a real headless Chromium (Debian's chromium and chromedriver).

Clicked through as a reader would: the report opens with the overview first in its menu, a table page
shows its rows in the DOM (and sorts and filters them), and a figure's image loads. Skipped, with the
reason, where the browser is missing and apt cannot install it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from browser import Browser, ensure_chromium
from conftest import run_snakemake


@pytest.fixture(scope="module")
def chromium() -> None:
    reason = ensure_chromium()
    if reason:
        pytest.skip(f"no headless browser: {reason}")


@pytest.fixture(scope="module")
def report_html(small_run: Path, chromium: None) -> Path:
    run_snakemake(small_run, "--report", "results/small/report.html", "--configfile", "config/small.yaml")
    return small_run / "results/small/report.html"


def _menu(browser: Browser) -> list[str]:
    return browser.run("return Array.from(document.querySelectorAll('a')).map(a => a.textContent.trim())"
                       ".filter(t => t.length > 0)")


def _view(browser: Browser, category: str, subcategory: str, row_text: str) -> None:
    """Open a result from the menu: category, subcategory, then the view (eye) button of the result
    whose row (its labels) contains ``row_text``."""
    browser.click(f"//a[normalize-space(.)='{category}']")
    browser.wait_for("return Array.from(document.querySelectorAll('a')).some(a => a.textContent.trim() === arguments[0])",
                     subcategory)
    browser.click(f"//a[normalize-space(.)='{subcategory}']")
    row = f"//tr[contains(normalize-space(.), '{row_text}') and .//a[@iconname='eye']]"
    assert browser.wait_for("return document.evaluate(arguments[0], document, null, 9, null).singleNodeValue !== null",
                            row), f"no result {row_text!r} under {category} / {subcategory}"
    browser.click(row + "//a[@iconname='eye']")


def test_report_opens_with_the_overview_first_a_table_in_the_dom_and_a_figure(report_html: Path, small_run: Path,
                                                                               tmp_path: Path) -> None:
    with Browser(tmp_path / "profile") as browser:
        browser.open(report_html.as_uri())
        assert browser.wait_for("return document.querySelectorAll('a').length > 10")
        menu = _menu(browser)
        categories = [t for t in menu if t[:1].isdigit() or t.startswith(("Fig", "Provenance"))]
        assert categories[:4] == ["1 Overview", "2 Who benefits", "3 Model comparison", "4 Validation"], menu

        # a table page: its rows are in the DOM of the frame the report shows it in
        _view(browser, "2 Who benefits", "EGFR–erlotinib", "Who benefits: EGFR–erlotinib")
        assert browser.wait_for("return document.querySelector('iframe') !== null")
        browser.frame("//iframe")
        expected = pd.read_csv(small_run / "results/small/pairs/EGFR_ERLOTINIB/who_benefits.tsv", sep="\t")
        n_rows = browser.wait_for("var t = document.querySelector('table.forge-table');"
                                  "return t ? t.tBodies[0].rows.length : 0")
        assert n_rows == len(expected)
        first = browser.run("return Array.from(document.querySelector('table.forge-table').tBodies[0].rows[0].cells)"
                            ".map(c => c.textContent)")
        assert first[:2] == ["1", str(expected["sample"].iloc[0])]
        assert browser.run("return document.querySelector('.count').textContent") == f"{len(expected)} of {len(expected)} rows"
        # sorting by a column header, twice: ascending then descending by Benefit Score
        column = list(expected.columns).index("benefit_score")
        browser.click(f"//table[@class='forge-table']/thead/tr/th[{column + 1}]")
        lowest = browser.run("return document.querySelector('table.forge-table').tBodies[0].rows[0].cells[1].textContent")
        assert lowest == str(expected.sort_values("benefit_score")["sample"].iloc[0])
        # the search box keeps the matching rows
        name = str(expected["CellLineName"].iloc[5])
        browser.run("var box = document.querySelector('input[type=search]'); box.value = arguments[0];"
                    "box.dispatchEvent(new Event('input'));", name)
        shown = browser.run("return Array.from(document.querySelector('table.forge-table').tBodies[0].rows)"
                            ".filter(r => r.style.display !== 'none').map(r => r.cells[1].textContent)")
        matching = expected[expected.astype(str).apply(lambda col: col.str.lower().str.contains(name.lower(),
                                                                                               regex=False)).any(axis=1)]
        assert sorted(shown) == sorted(matching["sample"].astype(str)) and len(shown) >= 1
        browser.frame(None)

        # a figure: the image element loads (decoded, with its pixel size); from the report's start page
        browser.open(report_html.as_uri())
        assert browser.wait_for("return document.querySelectorAll('a').length > 10")
        _view(browser, "Fig. 2", "EGFR–erlotinib", "fig2")
        size = browser.wait_for("var img = document.querySelector(arguments[0]); return img && img.complete"
                                " && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight] : null",
                                '#app img[src^="data:image/png"]')  # the figure, not the report's logo
        assert size and size[0] > 500 and size[1] > 500, size
        browser.screenshot(tmp_path / "figure.png")
        assert (tmp_path / "figure.png").stat().st_size > 10_000
