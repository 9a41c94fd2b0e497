"""The MCP face of the service: tool registration, the error boundary and transports."""
