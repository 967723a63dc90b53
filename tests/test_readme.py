"""The README runs as written; every relative link of README.md and doc/ resolves."""

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


@pytest.mark.slow
def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python examples"
    namespace = {}
    for code in blocks:
        exec(compile(code, str(README), "exec"), namespace)
    assert namespace["search"].best_params_  # the GridSearchCV snippet ran
    out = capsys.readouterr().out.split()
    assert all(0 < float(v) < 1 for v in out[:2])  # explained variances printed


ROOT = README.parent
MARKDOWN = [README, *sorted((ROOT / "doc").glob("*.md"))]
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(path):
    """GitHub's heading anchors of a markdown file."""
    anchors = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return anchors


@pytest.mark.parametrize("page", MARKDOWN, ids=[p.name for p in MARKDOWN])
def test_relative_links_point_to_existing_files(page):
    links = _LINK.findall(page.read_text())
    assert links or page != README, "README has no links"
    for link in links:
        if re.match(r"[a-z]+:", link):  # http:, https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name}: {link!r} points to a missing file"
        assert path.is_relative_to(ROOT), f"{page.name}: {link!r} leaves the repo"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path), f"{page.name}: no heading #{anchor}"
