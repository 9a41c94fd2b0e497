"""`mcp-payments worker` processes: several share the due work of one PostgreSQL with a server, each item handled
once; a worker killed mid-run leaves every item done once or still due, and the next run finishes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_payments.bootstrap import application
from tests.conftest import TEST_SECRETS
from tests.e2e.due_work import (
    assert_each_done_once_or_still_due,
    make_due_items,
    outcome,
    reading,
    scalars,
    settings,
)
from tests.e2e.processes import full_env, network_server, shared_secrets, worker
from tests.helpers import ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SECRETS = shared_secrets(TEST_SECRETS["secret_key"], TEST_SECRETS["webhook_secrets"])
FAST = {**SECRETS, "MCP_PAYMENTS_JOB_INTERVAL_SECONDS": "0.1"}


async def background_jobs(client: Client) -> dict[str, dict[str, object]]:
    return {job["name"]: job for job in (await ok(client, "list_background_jobs"))["jobs"]}


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(
            "sqlite",
            marks=pytest.mark.skip(reason="DESIGN §8: several processes share PostgreSQL; SQLite is one process"),
        ),
        "postgresql",
    ],
)
async def test_two_workers_and_a_server_on_one_database_handle_each_due_item_exactly_once(
    backend: str, db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "serve").mkdir()

    with anyio.fail_after(240):
        async with (
            network_server("http", db_url, tmp_path / "serve", "--no-auth", env=FAST) as base,
            worker(db_url, tmp_path, "worker-a", "--interval", "0.1", env=SECRETS),
            worker(db_url, tmp_path, "worker-b", "--interval", "0.1", env=SECRETS),
            reading(db_url) as conn,
            Client(streamable_http_client(f"{base}/mcp")) as client,
        ):
            # All three run their passes before the items are made: they are made under their feet.
            while True:
                if len(await scalars(conn, "SELECT DISTINCT worker FROM job_runs")) == 3:
                    break
                await anyio.sleep(0.05)
            items = await make_due_items(db_url, holds=40, authorizations=40, disputes=40)
            while True:
                jobs = await background_jobs(client)
                if all(job["lag_seconds"] is None for job in jobs.values()):
                    break
                await anyio.sleep(0.2)
            assert all(job["recent_failures"] == [] for job in jobs.values()), jobs
            report = await ok(client, "check_ledger_integrity")
            assert report["ok"], report["problems"]
            assert (await ok(client, "verify_audit_chain"))["valid"]
            assert_each_done_once_or_still_due(items, await outcome(conn), everything_done=True)

    logs = [
        await anyio.Path(log).read_text() for log in await anyio.to_thread.run_sync(lambda: [*tmp_path.rglob("*.log")])
    ]
    assert len(logs) == 3
    for text in logs:
        for trouble in ("job_item_failed", "job_item_crashed", "job_failed", "job_crashed", "Traceback"):
            assert trouble not in text, text


async def test_a_worker_killed_mid_run_leaves_every_item_done_once_or_still_due(db_url: str, tmp_path: Path) -> None:
    items = await make_due_items(db_url, holds=300, authorizations=0, disputes=60)

    with anyio.fail_after(180):
        async with reading(db_url) as conn, worker(db_url, tmp_path, "doomed", "--interval", "0.05", env=SECRETS) as p:
            while len(await scalars(conn, "SELECT seq FROM audit_log WHERE principal = 'system'")) < 20:
                assert p.returncode is None, (tmp_path / "doomed.log").read_text()
                await anyio.sleep(0.01)
            os.kill(p.pid, signal.SIGKILL)
            assert await p.wait() == -signal.SIGKILL

        async with reading(db_url) as conn:
            done = assert_each_done_once_or_still_due(items, await outcome(conn), everything_done=False)
            unfinished = await scalars(conn, "SELECT id FROM job_runs WHERE finished_at IS NULL")
        assert 0 < done < items.total, "killed mid-run"
        assert unfinished, "the killed run stays on record, unfinished"
        async with application(settings(db_url)) as (server, _, _), Client(server) as client:
            report = await ok(client, "check_ledger_integrity")
            assert report["ok"], report["problems"]
            assert (await ok(client, "verify_audit_chain"))["valid"]

        finished = await anyio.run_process(
            [sys.executable, "-m", "mcp_payments", "worker", "--db", db_url, "--once"],
            stdin=subprocess.DEVNULL,
            env={**full_env(tmp_path / "again"), **SECRETS},
            check=False,
        )
    assert finished.returncode == 0, finished.stderr.decode()

    async with reading(db_url) as conn:
        assert_each_done_once_or_still_due(items, await outcome(conn), everything_done=True)
    async with application(settings(db_url)) as (server, _, _), Client(server) as client:
        assert (await ok(client, "check_ledger_integrity"))["ok"]
        assert (await ok(client, "verify_audit_chain"))["valid"]
        jobs = await background_jobs(client)
    assert all(job["lag_seconds"] is None for job in jobs.values())


async def test_a_worker_stops_cleanly_when_asked_to(db_url: str, tmp_path: Path) -> None:
    await make_due_items(db_url, holds=0, authorizations=0, disputes=0)  # the schema, and a wallet

    with anyio.fail_after(60):
        async with worker(db_url, tmp_path, "polite", "--interval", "0.05", env=SECRETS) as process:
            async with reading(db_url) as conn:
                while not await scalars(conn, "SELECT id FROM job_runs WHERE finished_at IS NOT NULL"):
                    assert process.returncode is None, (tmp_path / "polite.log").read_text()
                    await anyio.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
    log = (tmp_path / "polite.log").read_text()
    assert "worker_stopping" in log
    assert "Traceback" not in log, log
