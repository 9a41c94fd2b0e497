"""Output models of the monitoring tools that watch the service over time: tool metrics and alerts."""

from datetime import datetime

from pydantic import BaseModel, Field

from mcp_payments.domain.latency import RESOLUTION
from mcp_payments.services.alerts import Alert
from mcp_payments.services.tool_metrics import ToolMetricsReport, ToolUsage


class ToolUsageOut(BaseModel):
    tool: str
    calls: int
    errors: int = Field(description="Calls whose outcome was not ok (tool errors and refusals).")
    errors_by_code: dict[str, int] = Field(description="Those calls per error code, e.g. card_declined: 3.")
    p50_ms: float | None = Field(description="Median latency in milliseconds (upper edge of its bin); None: no calls.")
    p95_ms: float | None
    p99_ms: float | None

    @classmethod
    def of(cls, u: ToolUsage) -> "ToolUsageOut":
        return cls(
            tool=u.tool,
            calls=u.calls,
            errors=u.errors,
            errors_by_code=u.errors_by_code,
            p50_ms=u.p50_ms,
            p95_ms=u.p95_ms,
            p99_ms=u.p99_ms,
        )


class ToolMetricsOut(BaseModel):
    since: datetime = Field(description="Start of the window's first minute.")
    until: datetime
    window_minutes: int
    calls: int
    errors: int
    tools: list[ToolUsageOut] = Field(description="Per tool that was called in the window, busiest first.")
    latency_resolution: str = Field(description="How exact the percentiles are.")
    scope: str = Field(description="Whose calls are counted.")

    @classmethod
    def of(cls, r: ToolMetricsReport) -> "ToolMetricsOut":
        return cls(
            since=r.since,
            until=r.until,
            window_minutes=r.window_minutes,
            calls=r.calls,
            errors=r.errors,
            tools=[ToolUsageOut.of(u) for u in r.tools],
            latency_resolution=RESOLUTION,
            scope="every server process sharing this database; other processes' last few seconds may not be in yet",
        )


class AlertOut(BaseModel):
    rule: str = Field(description="authorization_rate_drop, job_lag or tool_error_rate.")
    severity: str = Field(description="warning or critical.")
    subject: str = Field(description='What it is about: "payments", a job or a tool.')
    message: str = Field(description="What is wrong, with the numbers.")
    action: str = Field(description="What to do about it.")
    values: dict[str, str] = Field(description="The numbers as exact strings (rates in percent).")

    @classmethod
    def of(cls, a: Alert) -> "AlertOut":
        return cls(
            rule=a.rule, severity=a.severity, subject=a.subject, message=a.message, action=a.action, values=a.values
        )


class AlertsOut(BaseModel):
    alerts: list[AlertOut] = Field(description="Active alerts, critical first; empty when all is well.")
    checked_at: datetime
    rules: dict[str, str] = Field(description="Each rule and its thresholds, as configured.")
