"""Roles, from least to most trusted: each may do what the ones below it may (DESIGN §4)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # reads
    AGENT = "agent"  # also changes state and moves money (within limits, once limits exist)
    OPERATOR = "operator"  # also approves what an agent may not do alone
    ADMIN = "admin"  # also administers: keys, limits, settings

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def covers(self, needed: Role) -> bool:
        """Whether this role may do what `needed` may."""
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, text: str) -> Role:
        """ValueError naming the roles when `text` is not one of them."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown role {text!r}; choose from {', '.join(r.value for r in _ORDER)}") from None


_ORDER = (Role.VIEWER, Role.AGENT, Role.OPERATOR, Role.ADMIN)


def highest(roles: list[Role]) -> Role | None:
    return max(roles, key=lambda r: r.rank) if roles else None
