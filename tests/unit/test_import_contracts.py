"""The dependency direction of the code base (pyproject.toml ``[tool.importlinter]``): topics <- hub <- agents,
and the product never imports the tests, the benchmarks or the demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(config: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [str(LINT_IMPORTS), "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_every_import_points_the_one_allowed_way() -> None:
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_finds_an_import_against_the_direction(tmp_path: Path) -> None:
    """The same checker, told that hub may not import topics (it does): it must fail and name an import."""
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["topics", "hub"]\n\n'
                      '[[tool.importlinter.contracts]]\nname = "reversed"\ntype = "layers"\n'
                      'layers = ["topics", "hub"]\n', encoding="utf-8")
    result = _lint(config)
    assert result.returncode == 1 and "hub." in result.stdout and "-> topics." in result.stdout, result.stdout
