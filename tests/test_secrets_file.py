"""secrets.json is made once: processes that start together on a fresh data directory share one set of keys."""

import json
import subprocess
import sys
from pathlib import Path

STARTS = 4
LOAD = (
    "from mcp_payments.bootstrap import load_secrets; from mcp_payments.config import Settings; "
    "key, hooks = load_secrets(Settings()); print(key.decode(), hooks[0])"
)


def test_first_starts_at_the_same_moment_all_get_the_same_keys(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    starts = [
        subprocess.Popen([sys.executable, "-c", LOAD], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(STARTS)
    ]
    answers = {start.communicate(timeout=60)[0] for start in starts}

    assert all(start.returncode == 0 for start in starts)
    [answer] = answers
    stored = json.loads((tmp_path / "mcp-payments" / "secrets.json").read_text())
    assert answer.split() == [stored["secret_key"], stored["webhook_secret"]]
    assert [p.name for p in (tmp_path / "mcp-payments").iterdir()] == ["secrets.json"], "no draft left behind"
    assert (tmp_path / "mcp-payments" / "secrets.json").stat().st_mode & 0o077 == 0, "readable by its owner only"
