"""The docs site builds with `mkdocs build --strict`: no broken link, anchor or page left out of
the nav; the README's links point at pages that exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.docs_helpers import DOCS, REPO, readme


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
         "--site-dir", str(site)],
        cwd=config.parent, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # Material's end-of-life banner


def test_the_docs_site_builds_strictly(tmp_path: Path) -> None:
    # Given the repository's mkdocs.yml and docs/
    # When the site is built strictly into a temporary folder
    done = build(REPO / "mkdocs.yml", tmp_path / "site")
    # Then it builds without a warning, and every page of the nav is in the site
    assert done.returncode == 0, done.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    for page in DOCS.glob("*.md"):
        assert page.stem == "index" or (site / page.stem / "index.html").is_file(), page


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    # Given a copy of the site whose overview page links to a page that does not exist
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    page = tmp_path / "docs" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [gone](no-such-page.md).\n",
                    encoding="utf-8")
    # When it is built strictly
    done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    # Then the build fails and names the link
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr


def test_the_readme_links_to_pages_that_exist() -> None:
    # Given the README's relative links (the site cannot check them: the README is outside it)
    links = re.findall(r"\]\((?!https?://|#|mailto:)([^)#\s]+)(?:#[^)]*)?\)", readme())
    # Then there are links into docs/, and each names a file of the checkout
    assert sum(link.startswith("docs/") for link in links) >= 8, links
    for link in links:
        assert (REPO / link).exists(), f"the README links to {link}, which does not exist"
