"""Demo data: a deterministic, realistic history written in bulk (`mcp-payments demo-data`)."""
