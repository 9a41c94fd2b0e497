"""Use cases: open a unit of work, load, ask the domain, commit."""
