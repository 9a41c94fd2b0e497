"""/metrics on the HTTP transports: Prometheus text from this process's own registry.

Tool calls and their latency by tool and outcome (told by CallStats as each call ends), job runs and their items
(told by the JobRunner), and the database connection pools (read at scrape time). Each server process serves its
own registry: scrape every replica (Prometheus adds them up with sum by); `serve` runs one process per port, so
no multiprocess mode is needed. What /metrics shows is counts and names of tools and jobs, never arguments,
principals or secrets: it is open unless MCP_PAYMENTS_METRICS_TOKEN is set, and then needs that bearer token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_payments.services.call_stats import CallStats
from mcp_payments.services.container import Services
from mcp_payments.services.job_runner import JobRunner
from mcp_payments.services.ports import ReportsPools, UnitOfWorkFactory

# Seconds: a tool call takes from well under a millisecond (a cached read on SQLite) to seconds (a ledger check).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PATH = "/metrics"


class Exporter:
    """This process's metrics, in a registry of its own (two servers in one test process do not share one)."""

    def __init__(self, services: Services) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "mcp_payments_tool_calls",
            "Tool calls by tool and outcome (ok or the error code).",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mcp_payments_tool_call_duration_seconds",
            "Tool call latency in seconds, by tool and outcome.",
            ["tool", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.job_runs = Counter(
            "mcp_payments_job_runs", "Runs of background jobs by this process.", ["job"], registry=self.registry
        )
        self.job_items = Counter(
            "mcp_payments_job_items",
            "Items background jobs handled (done) or failed on, by this process.",
            ["job", "result"],
            registry=self.registry,
        )
        self.registry.register(PoolCollector(services.uow))
        services.get(CallStats).listeners.append(self.tool_call)
        services.get(JobRunner).listeners.append(self.job_run)

    def tool_call(self, tool: str, outcome: str, seconds: float) -> None:
        self.calls.labels(tool, outcome).inc()
        self.latency.labels(tool, outcome).observe(seconds)

    def job_run(self, job: str, done: int, failed: int) -> None:
        self.job_runs.labels(job).inc()
        if done:
            self.job_items.labels(job, "done").inc(done)
        if failed:
            self.job_items.labels(job, "failed").inc(failed)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class PoolCollector(Collector):
    """The unit of work's connection pools, read when scraped."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = GaugeMetricFamily("mcp_payments_db_pool_size", "Connections a pool may hold.", labels=["pool"])
        in_use = GaugeMetricFamily(
            "mcp_payments_db_pool_in_use", "Connections in use by units of work.", labels=["pool"]
        )
        idle = GaugeMetricFamily(
            "mcp_payments_db_pool_idle", "Open connections waiting for a unit of work.", labels=["pool"]
        )
        if isinstance(self.uow, ReportsPools):
            for pool in self.uow.pool_stats():
                size.add_metric([pool.name], pool.size)
                in_use.add_metric([pool.name], pool.in_use)
                idle.add_metric([pool.name], pool.idle)
        yield from (size, in_use, idle)


def mount(app: Starlette, exporter: Exporter, token: str | None) -> None:
    """Serve `exporter` at /metrics on `app`; with a token, only to requests bearing it."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(
                    "/metrics needs the bearer token set in MCP_PAYMENTS_METRICS_TOKEN\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                    media_type="text/plain",
                )
        return Response(exporter.text(), media_type=CONTENT_TYPE_LATEST)

    app.router.routes.insert(0, Route(PATH, metrics, methods=["GET"]))
