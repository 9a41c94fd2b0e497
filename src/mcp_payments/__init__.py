"""mcp-payments: an MCP server with payment tools on a double-entry ledger."""

__version__ = "0.1.0"
