"""scripts/_venv.sh, as two first starts at once see it: one sets up .venv, the other waits for it, both go on.

A stand-in python takes the place of the real one (`python -m venv`, `pip install`: seconds), so these run in
about a second; it records every pip run and fails when two run at once. The whole thing, with a real venv
built on a fresh copy of the checkout, is scripts/check-first-starts (run by hand: it takes minutes)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = r"""#!/usr/bin/env bash
# Stands in for python3 and the venv's python: the version check, `-m venv DIR`, `-m pip install ...`.
case "$1 $2" in
  "-c "*) exit 0 ;;
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
  "-m pip")
    mkdir "$RECORD/pip-running" 2>/dev/null || { echo "two pips at once" >>"$RECORD/errors"; exit 1; }
    echo "pip ${*:3}" >>"$RECORD/pips"
    sleep 0.3
    rmdir "$RECORD/pip-running" ;;
esac
"""

# What the scripts and the stand-in use, without flock: the macOS case (a mkdir lock).
TOOLS = ("bash", "dirname", "mkdir", "rmdir", "rm", "mv", "cat", "sleep", "touch", "find", "cp")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A fresh checkout's scripts and pyproject.toml, no .venv yet."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "_venv.sh", root / "scripts" / "_venv.sh")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / "record").mkdir()
    python = tmp_path / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return root


def without_flock(tmp_path: Path) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def start(root: Path, extras: str, path: str | None = None) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHON": str(root.parent / "python3"),
        "RECORD": str(root / "record"),
        "PATH": path or os.environ["PATH"],
    }
    script = f'source "{root}/scripts/_venv.sh"; ensure_venv "{extras}"; echo ready'
    return subprocess.Popen(["bash", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def both_start(root: Path, path: str | None = None) -> list[tuple[int, str, str]]:
    # scripts/serve ("") and scripts/test ("[dev]") at the same moment.
    processes = [start(root, "", path), start(root, "[dev]", path)]
    return [finish(p) for p in processes]


def pips(root: Path) -> list[str]:
    return (root / "record" / "pips").read_text().splitlines()


@pytest.mark.parametrize("lock", ["flock", "mkdir"])
def test_two_first_starts_at_once_take_turns_and_both_come_up(checkout: Path, tmp_path: Path, lock: str) -> None:
    path = without_flock(tmp_path) if lock == "mkdir" else None
    if lock == "flock" and shutil.which("flock") is None:
        pytest.skip("no flock here")

    results = both_start(checkout, path)

    for code, out, err in results:
        assert (code, out) == (0, "ready\n"), err
    assert not (checkout / "record" / "errors").exists(), (checkout / "record" / "errors").read_text()
    # Each set it up once, one after the other: pip upgraded, then the package, per extras.
    assert sorted(pips(checkout)) == sorted(
        ["pip install -q --upgrade pip"] * 2 + [f"pip install -q -e {checkout}", f"pip install -q -e {checkout}[dev]"]
    )
    assert any("waiting for another start" in err for _, _, err in results)
    assert (checkout / ".venv" / ".installed").exists()
    assert (checkout / ".venv" / ".installed[dev]").exists()


def test_a_start_after_the_first_takes_no_lock_and_runs_no_pip(checkout: Path) -> None:
    assert finish(start(checkout, ""))[0] == 0
    before = pips(checkout)
    (checkout / ".venv.lock").unlink(missing_ok=True)

    code, _, _ = finish(start(checkout, ""))

    assert code == 0
    assert pips(checkout) == before
    assert not (checkout / ".venv.lock").exists()


def test_a_lock_left_by_a_start_that_died_is_taken_over(checkout: Path, tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    (checkout / ".venv.lock.d").mkdir()
    (checkout / ".venv.lock.d" / "pid").write_text(f"{gone.pid}\n")

    code, _, err = finish(start(checkout, "", without_flock(tmp_path)))

    assert code == 0, err
    assert not (checkout / ".venv.lock.d").exists()
    assert (checkout / ".venv" / ".installed").exists()


def test_a_setup_cut_short_is_done_again_by_the_next_start(checkout: Path) -> None:
    (checkout / ".venv" / "bin").mkdir(parents=True)  # venv made, pip never finished: no stamp
    shutil.copy(checkout.parent / "python3", checkout / ".venv" / "bin" / "python")

    code, _, err = finish(start(checkout, ""))

    assert code == 0, err
    assert f"pip install -q -e {checkout}" in pips(checkout)
