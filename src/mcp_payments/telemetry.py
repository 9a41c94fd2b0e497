"""OpenTelemetry traces: the MCP SDK opens a span per request (a tool call's names the tool in gen_ai.tool.name);
they cost nothing until a tracer provider with an exporter is installed, which MCP_PAYMENTS_OTEL_EXPORTER does.

console: spans printed to stderr (stdout is the protocol on stdio). otlp: sent over OTLP/HTTP to the collector the
standard variables name (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318; OTEL_SERVICE_NAME). Both need
the `otel` extra: `pip install 'mcp-payments[otel]'`. Anything that installs a provider itself (the
`opentelemetry-instrument` wrapper) works as well: leave the setting unset then.
"""

from __future__ import annotations

import sys

EXPORTERS = ("console", "otlp")


def parse_exporter(text: str) -> str:
    name = text.strip().lower()
    if name not in EXPORTERS:
        raise ValueError(f"{text!r} is not an OpenTelemetry exporter: use {' or '.join(EXPORTERS)}")
    return name


def configure_tracing(exporter: str | None) -> None:
    """Install a tracer provider exporting spans as `exporter` says; None: leave tracing as it is."""
    if exporter is None:
        return
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError:
        raise ValueError(
            "MCP_PAYMENTS_OTEL_EXPORTER needs the OpenTelemetry SDK: `pip install 'mcp-payments[otel]'`"
        ) from None
    span_exporter: SpanExporter
    if exporter == "console":
        span_exporter = ConsoleSpanExporter(out=sys.stderr)
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ValueError(
                "MCP_PAYMENTS_OTEL_EXPORTER=otlp needs the OTLP exporter: `pip install 'mcp-payments[otel]'`"
            ) from None
        span_exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "mcp-payments"}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
