"""The README stays short and every relative link of the README and docs/ reaches a file."""

import re

from pipelines.config import REPO_ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")


def _pages() -> list:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]


def test_readme_is_at_most_200_lines():
    assert len((REPO_ROOT / "README.md").read_text().splitlines()) <= 200


def test_relative_links_reach_a_file():
    broken = []
    for page in _pages():
        for target in LINK.findall(page.read_text()):
            path = target.split("#", 1)[0]
            if not path or re.match(r"^[a-z]+:", path):
                continue
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target}")
    assert not broken, broken
