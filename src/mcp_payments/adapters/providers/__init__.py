"""Payment provider adapters (the sandbox provider arrives with the payments issue)."""
