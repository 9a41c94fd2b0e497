"""Adapters: the database and payment providers behind the service ports."""
