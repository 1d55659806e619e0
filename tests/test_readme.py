"""The README's tour runs as written."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _block(after_heading):
    text = README.read_text()
    section = text[text.index(after_heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_tour_runs(capsys):
    if not README.exists():
        pytest.skip("no README beside the tests")
    exec(compile(_block("## A tour"), "README tour", "exec"), {})
    assert "stream version" in capsys.readouterr().out  # show_config printed
