"""The README's Python snippets run as written."""

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
