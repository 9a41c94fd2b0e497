"""What a start imports: not what it does not need (benchmarks/startup.py measures what that is worth)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# rich: structlog would import it whenever it is installed (the dev venv has it, through import-linter).
# alembic: only to migrate. jwt (and cryptography with it): only when JWTs are accepted.
NOT_AT_START = ("rich", "alembic", "jwt")


def imported_by(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_modules_a_start_loads_leave_out_rich_alembic_and_jwt() -> None:
    # In the order a start imports them: the command line (`mcp-payments`, `python -m mcp_payments`) first.
    loaded = imported_by("from mcp_payments import cli\nfrom mcp_payments import bootstrap, catalog")
    assert not {m for m in NOT_AT_START if m in loaded}


def test_rich_stays_importable_after_structlog_was_imported_without_it() -> None:
    pytest.importorskip("rich")  # the dev venv's; the runtime venv has none
    loaded = imported_by("import mcp_payments.logging, structlog.dev\nassert structlog.dev.rich is None\nimport rich")
    assert "rich" in loaded
