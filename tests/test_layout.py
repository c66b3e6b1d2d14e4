"""The import rule of ARCHITECTURE.md holds: import-linter's contracts in pyproject.toml."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CONTRACTS = [
    "pro_app depends downwards only: web, features, storage, models",
    "surveys and notifications stay pure",
    "the two pure libraries are independent",
    "only the app factory and the CLI wiring reach the web layer and the demo",
]


def test_every_import_contract_is_kept():
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout
