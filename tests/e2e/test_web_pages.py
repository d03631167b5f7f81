"""End to end: the household's pages in a real headless Chromium (Debian's chromium and
chromedriver, through selenium) over a real stack. Each page is photographed at desktop and
phone width into test-artifacts/ (web-<page>-desktop.png, web-<page>-phone.png)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.corpus import sha256
from tests.e2e.harness import Deployment, wait_for
from tests.e2e.ops import ARTIFACTS, chromium
from tests.e2e.web_stack import start_web

DESKTOP, PHONE = (1280, 900), (375, 812)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    driver_path = shutil.which("chromedriver")
    assert driver_path, "chromedriver is missing: ./dev test installs it (chromium-driver)"
    with tempfile.TemporaryDirectory(prefix="mc-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium()
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                     f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        driver.set_page_load_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


def photograph(browser: WebDriver, page: str) -> None:
    """The page at desktop and phone width; at 375 px nothing may scroll sideways."""
    for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        browser.set_window_size(width, height)
        wait_for(lambda w=width: browser.execute_script("return window.innerWidth") <= w, 10,
                 "the window to resize")
        shot = ARTIFACTS / f"web-{page}-{label}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(shot)), shot
        if label == "phone":
            wide = browser.execute_script("return document.documentElement.scrollWidth")
            inner = browser.execute_script("return window.innerWidth")
            assert wide <= inner, f"{page} scrolls sideways at 375 px: {wide} > {inner}"
    browser.set_window_size(*DESKTOP)


def text(browser: WebDriver) -> str:
    """The page's main text, read in one script: a find and then a read fails with a stale
    element when the page is replaced between them (a search's result loading, htmx)."""
    return browser.execute_script('return document.querySelector("main")?.innerText ?? ""')


def arrived(browser: WebDriver) -> str:
    """Read in one script: htmx may swap the element between a find and a read."""
    found = browser.execute_script('return document.querySelector('
                                   '\'[data-source="inbox"][data-count="arrived"]\')'
                                   '?.textContent')
    return " ".join((found or "").split())


def test_overview_counts_move_while_photos_arrive_and_a_file_can_be_found(
    deployment: Deployment, corpus_dir: Path, browser: WebDriver
) -> None:
    # Given a running stack and the overview open in the browser, nothing arrived yet
    source, library = deployment.one_source(stability="0.3s")
    deployment.start_worker()
    watcher = deployment.start_watcher()
    wait_for(lambda: "watching" in watcher.output(), 30, "the watcher to start")
    _web, base = start_web(deployment)
    browser.get(f"{base}/")
    assert arrived(browser).startswith("0 files")
    assert browser.find_element(By.TAG_NAME, "h1").text == "What arrived, what waits"

    # When photos land in the source while the page stays open (no reload)
    photos = [*sorted((corpus_dir / "jpg").glob("*.jpg"))[:4],
              corpus_dir / "heic" / "IMG_5195.HEIC"]
    for photo in photos:
        shutil.copy2(photo, source / photo.name)

    # Then the count on the page moves to every photo by itself, with their thumbnails
    wait_for(lambda: arrived(browser).startswith(f"{len(photos)} files"), 90,
             "the overview to count every photo", every=0.5)
    count = 'return document.querySelectorAll(".thumbs img").length'
    wait_for(lambda: browser.execute_script(count) == len(photos), 15, "the thumbnails")
    loaded = 'return [...document.querySelectorAll(".thumbs img")].every(i => i.naturalWidth > 0)'
    wait_for(lambda: browser.execute_script(loaded), 30, "every thumbnail to load")
    browser.get(f"{base}/")  # a fresh page: the live part is not swapped while it is read
    assert "Nothing is held." in text(browser) and "No file is failing." in text(browser)
    photograph(browser, "overview")

    # When a file is searched for by its name on the search page
    photo = photos[0]
    browser.get(f"{base}/files")
    field = browser.find_element(By.ID, "q")
    assert browser.find_element(By.CSS_SELECTOR, "label[for=q]").text  # a labelled field
    field.send_keys(photo.stem)
    browser.find_element(By.CSS_SELECTOR, "form[role=search] button").click()

    # Then its journey is shown: ingested, the stages with their hosts, where it is now
    wait_for(lambda: "Journey" in text(browser), 15, "the search result")
    page = text(browser)
    assert f"inbox/{photo.name}" in page and sha256(photo) in page
    assert "ingested at" in page and "verify_copy" in page
    assert f"Now: ingested: {library / photo.name}" in page
    photograph(browser, "files")


def test_pause_and_retry_from_the_pages(
    deployment: Deployment, corpus_dir: Path, browser: WebDriver
) -> None:
    # Given a photo the worker may not read (it fails), and the stack with the page
    source, library = deployment.one_source(stability="0.3s")
    photo = sorted((corpus_dir / "jpg").glob("*.jpg"))[3]
    shutil.copy2(photo, source / photo.name)
    (source / photo.name).chmod(0o000)
    deployment.restricted = True
    deployment.start_worker()
    watcher = deployment.start_watcher()
    wait_for(lambda: deployment.events("failed"), 60, "the failure")
    _web, base = start_web(deployment)

    # When the failures page is opened: the full reason is there, with a retry button
    browser.get(f"{base}/failures")
    page = text(browser)
    assert f"inbox/{photo.name}" in page and "Permission denied" in page
    photograph(browser, "failures")
    (source / photo.name).chmod(0o644)  # the household fixes the cause …
    browser.find_element(By.XPATH, f"//button[normalize-space()='Retry {photo.name}']").click()

    # Then the page says the retry is queued, the photo arrives, and the list empties itself
    wait_for(lambda: f"retry of inbox/{photo.name} queued" in text(browser), 15,
             "the page to say the retry is queued")
    wait_for(lambda: (library / photo.name).exists(), 60, "the retried photo to arrive")
    assert sha256(library / photo.name) == sha256(photo)
    wait_for(lambda: "No file is failing." in text(browser), 30, "the failures page to empty")

    # When the source is paused on the controls page
    browser.get(f"{base}/controls")
    photograph(browser, "controls")
    browser.find_element(By.XPATH, "//button[normalize-space()='Pause inbox']").click()

    # Then the page says so, offers resume, and the watcher holds a new photo
    wait_for(lambda: browser.find_elements(By.XPATH,
                                           "//button[normalize-space()='Resume inbox']"), 15,
             "the resume button")
    assert "⏸ paused" in text(browser) and deployment.store().paused()
    late = sorted((corpus_dir / "jpg").glob("*.jpg"))[4]
    shutil.copy2(late, source / late.name)
    wait_for(lambda: "left for the reconcile at resume" in watcher.output(), 30,
             "the watcher to hold the photo")
    assert not (library / late.name).exists()
    browser.find_element(By.XPATH, "//button[normalize-space()='Resume inbox']").click()
    wait_for(lambda: (library / late.name).exists(), 60, "the held photo after resume")

    # … and the history shows it all, filterable, with its exports
    browser.get(f"{base}/history?event=paused")
    assert "source inbox" in text(browser) and "1 entries" in text(browser)
    browser.get(f"{base}/history")
    assert browser.find_element(By.LINK_TEXT, "CSV").get_attribute("href").endswith(
        "format=csv&limit=1000&")
    photograph(browser, "history")
    browser.get(f"{base}/logs")
    photograph(browser, "logs")
