"""Start-up: from process start to `tools/list` answered, against a bare `python -c "import mcp"`.

    python3 benchmarks/startup.py [--python .venv/bin/python ...] [--rounds 15] [--db URL] [--no-background]

For each interpreter given (default: this one), in the same run and in alternating order (so the machine's
noise hits both alike):

- import mcp: `PYTHON -c "import mcp"`, until the process exits: the MCP SDK's import, the floor of any
  server written with it (the interpreter's own start is in both numbers).
- serve: `BIN/mcp-payments serve --db URL` (the command `scripts/serve` ends in), with a client on its
  stdin and stdout that sends `initialize`, waits for the answer, sends `notifications/initialized` and
  `tools/list`, and stops the clock when the tool list arrives. The database is created and migrated by an
  untimed first start, so the timed ones are every later start (schema current), as a user sees them.

The target is serve <= 1.25x import mcp (medians). Only the standard library is used here, so any Python
can run it against any venv. Each server gets a fresh HOME and XDG_DATA_HOME (nothing is written to yours).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.25
DEADLINE_SECONDS = 120.0
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "startup-benchmark", "version": "0"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}


def import_mcp(python: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([str(python), "-c", "import mcp"], env=env, check=True)
    return time.perf_counter() - started


def serve(python: Path, db_url: str, env: dict[str, str], extra: list[str], log: Path) -> tuple[float, int]:
    """Seconds from spawning the server to its answer to tools/list, and how many tools it listed."""
    command = [str(python.parent / "mcp-payments"), "serve", "--db", db_url, *extra]
    with log.open("ab") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env)
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            send(process, INITIALIZE)
            answer(process, 1, log)
            send(process, INITIALIZED)
            send(process, TOOLS_LIST)
            tools = answer(process, 2, log)["result"]["tools"]
            elapsed = time.perf_counter() - started
        finally:
            process.stdin.close()  # end of input: the server stops
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return elapsed, len(tools)


def send(process: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert process.stdin is not None
    process.stdin.write(json.dumps(message).encode() + b"\n")
    process.stdin.flush()


def answer(process: subprocess.Popen[bytes], request_id: int, log: Path) -> dict[str, object]:
    """The response to `request_id` (notifications and other lines are skipped)."""
    assert process.stdout is not None
    deadline = time.monotonic() + DEADLINE_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = process.stdout.readline()
            if not line:
                tail = log.read_text(errors="replace")[-2000:]
                sys.exit(f"the server exited before answering request {request_id}; its log ends:\n{tail}")
            message = json.loads(line)
            if message.get("id") == request_id:
                if "error" in message:
                    sys.exit(f"request {request_id} failed: {message['error']}")
                return message  # type: ignore[no-any-return]  # a JSON object
    sys.exit(f"no answer to request {request_id} within {DEADLINE_SECONDS:.0f} s")


def bench(python: Path, args: argparse.Namespace, where: Path) -> list[object]:
    home = Path(tempfile.mkdtemp(dir=where))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_PAYMENTS_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"))
    db_url = args.db or f"sqlite:///{home / 'payments.db'}"
    extra = ["--no-background"] if args.no_background else []
    log = home / "serve.log"
    serve(python, db_url, env, extra, log)  # untimed: creates and migrates the database, writes .pyc files
    import_mcp(python, env)
    imports: list[float] = []
    starts: list[float] = []
    tools = 0
    for round_no in range(args.rounds):
        if round_no % 2 == 0:
            imports.append(import_mcp(python, env))
            seconds, tools = serve(python, db_url, env, extra, log)
        else:
            seconds, tools = serve(python, db_url, env, extra, log)
            imports.append(import_mcp(python, env))
        starts.append(seconds)
    ratio = statistics.median(starts) / statistics.median(imports)
    verdict = "met" if ratio <= TARGET else "MISSED"
    return [
        str(python),
        tools,
        f"{statistics.median(imports):.3f} ({min(imports):.3f}-{max(imports):.3f})",
        f"{statistics.median(starts):.3f} ({min(starts):.3f}-{max(starts):.3f})",
        f"{ratio:.2f}x",
        f"<= {TARGET}x {verdict}",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--python", action="append", type=Path, help="a venv's python (repeatable; default: this one)")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--db", help="database URL (default: a SQLite file made for the run)")
    p.add_argument("--no-background", action="store_true", help="start the servers with --no-background")
    args = p.parse_args()
    pythons = [Path(p).absolute() for p in args.python or [Path(sys.executable)]]
    rows = []
    with tempfile.TemporaryDirectory(prefix="mcpp-startup-") as where:
        for python in pythons:
            rows.append(bench(python, args, Path(where)))
    headers = ["python", "tools", "import mcp s, median (range)", "start to tools/list s", "ratio", "target"]
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    one, five, _ = os.getloadavg()
    print(f"{args.rounds} rounds each; {os.cpu_count()} cores, load average {one:.1f} (1 min) {five:.1f} (5 min)")


if __name__ == "__main__":
    main()
