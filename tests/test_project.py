"""Project-level checks: the README's commands and CI agree; public names exist."""

import re
from pathlib import Path

import sklearn_losses

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return [c.strip() for c in re.findall(r"```bash\n(.+?)\n\s*```", text, re.S)]


def test_ci_runs_the_readme_test_command_verbatim():
    commands = _readme_commands()
    assert len(commands) >= 2
    test_command = commands[1].strip()
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in [line.strip() for line in ci]


def test_readme_installs_pinned_torch_before_the_package():
    for command in _readme_commands()[:2]:
        torch_at = command.index("pip install torch==2.13.0")
        assert torch_at < command.index("pip install -e")


def test_public_names_are_exported():
    for name in sklearn_losses.__all__:
        assert hasattr(sklearn_losses, name), name


def test_test_modules_have_unique_basenames():
    # Test folders are not packages: two files with one basename cannot both be
    # imported in one pytest process ("import file mismatch").
    names = [p.name for p in (ROOT / "tests").rglob("*.py")]
    duplicated = sorted({n for n in names if names.count(n) > 1} - {"__init__.py"})
    assert not duplicated
