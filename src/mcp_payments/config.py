"""Settings: environment variables MCP_PAYMENTS_* and CLI flags; the CLI wins."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from platformdirs import user_data_dir

from mcp_payments.domain.fx import RateTable

TOOLSETS = ("payments", "wallets", "monitoring", "compliance")


def default_db_url() -> str:
    path = Path(user_data_dir("mcp-payments", appauthor=False)) / "payments.db"
    return f"sqlite+aiosqlite:///{path}"


@dataclass(frozen=True)
class Settings:
    db_url: str = field(default_factory=default_db_url)
    principal: str = "local"
    read_only: bool = False
    toolsets: frozenset[str] | None = None  # None: every toolset
    fx_rates: dict[str, Decimal] = field(default_factory=dict)
    idempotency_key_ttl: timedelta = timedelta(hours=24)
    dedup_window: timedelta = timedelta(seconds=60)
    hold_ttl: timedelta = timedelta(days=7)
    sweep_interval: float = 30.0
    # Keys: the card-fingerprint HMAC key and the provider-event signing secrets (several while rotating).
    # Unset, they are generated once and kept in secrets.json beside the default database.
    secret_key: str | None = None
    webhook_secrets: tuple[str, ...] = ()
    fee_percent_bp: int = 290
    fee_fixed_minor: int = 30
    authorization_ttl: timedelta = timedelta(days=7)
    action_ttl: timedelta = timedelta(days=1)
    background: bool = True
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if url := env.get("MCP_PAYMENTS_DB_URL"):
            values["db_url"] = url
        if principal := env.get("MCP_PAYMENTS_PRINCIPAL"):
            values["principal"] = principal
        if env.get("MCP_PAYMENTS_READ_ONLY", "").lower() in ("1", "true", "yes"):
            values["read_only"] = True
        if toolsets := env.get("MCP_PAYMENTS_TOOLSETS"):
            values["toolsets"] = parse_toolsets(toolsets)
        if rates := env.get("MCP_PAYMENTS_FX_RATES"):
            values["fx_rates"] = parse_fx_rates(rates)
        if window := env.get("MCP_PAYMENTS_DEDUP_WINDOW_SECONDS"):
            values["dedup_window"] = timedelta(seconds=float(window))
        if key := env.get("MCP_PAYMENTS_SECRET_KEY"):
            values["secret_key"] = key
        if webhook := env.get("MCP_PAYMENTS_WEBHOOK_SECRETS"):
            values["webhook_secrets"] = tuple(s.strip() for s in webhook.split(",") if s.strip())
        if fee := env.get("MCP_PAYMENTS_FEES"):
            values["fee_percent_bp"], values["fee_fixed_minor"] = parse_fees(fee)
        if days := env.get("MCP_PAYMENTS_AUTHORIZATION_DAYS"):
            values["authorization_ttl"] = timedelta(days=float(days))
        if level := env.get("MCP_PAYMENTS_LOG_LEVEL"):
            values["log_level"] = level.upper()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]  # keys are this class's fields


def parse_toolsets(text: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    unknown = names - set(TOOLSETS)
    if unknown:
        raise ValueError(f"unknown toolset(s) {', '.join(sorted(unknown))}; choose from {', '.join(TOOLSETS)}")
    return names


def parse_fx_rates(text: str) -> dict[str, Decimal]:
    """ "EUR/USD=1.08,GBP/USD=1.27" -> {"EUR/USD": Decimal("1.08"), ...}."""
    rates: dict[str, Decimal] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        pair, _, rate = part.partition("=")
        try:
            value = Decimal(rate)
        except InvalidOperation:
            raise ValueError(f"FX rate {part!r} is not PAIR=DECIMAL") from None
        if len(pair) != 7 or pair[3] != "/" or not value.is_finite() or value <= 0:
            raise ValueError(f"FX rate {part!r} is not like EUR/USD=1.08")
        rates[pair.upper()] = value
    RateTable(rates)  # refuses rates that contradict each other, so the server does not start with them
    return rates


def parse_fees(text: str) -> tuple[int, int]:
    """ "2.9%+30" -> (290 basis points, 30 minor units)."""
    percent, _, fixed = text.replace(" ", "").partition("+")
    try:
        bp = Decimal(percent.rstrip("%")) * 100
        minor = int(fixed or "0")
    except (InvalidOperation, ValueError):
        raise ValueError(f"fees {text!r} are not like 2.9%+30") from None
    if bp < 0 or bp != bp.to_integral_value() or minor < 0:
        raise ValueError(f"fees {text!r} are not like 2.9%+30")
    return int(bp), minor


def secrets_path() -> Path:
    return Path(user_data_dir("mcp-payments", appauthor=False)) / "secrets.json"
