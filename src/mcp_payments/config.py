"""Settings: environment variables MCP_PAYMENTS_* and CLI flags; the CLI wins."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from platformdirs import user_data_dir

from mcp_payments.domain import aml, risk
from mcp_payments.domain.fx import RateTable
from mcp_payments.domain.subscriptions import Dunning
from mcp_payments.telemetry import parse_exporter


def default_db_url() -> str:
    path = Path(user_data_dir("mcp-payments", appauthor=False)) / "payments.db"
    return f"sqlite+aiosqlite:///{path}"


@dataclass(frozen=True)
class Settings:
    db_url: str = field(default_factory=default_db_url)
    principal: str | None = None  # the local user's name on stdio without a key (local:<name>); None: the OS user's
    read_only: bool = False
    toolsets: frozenset[str] | None = None  # None: every toolset
    fx_rates: dict[str, Decimal] = field(default_factory=dict)
    idempotency_key_ttl: timedelta = timedelta(hours=24)
    dedup_window: timedelta = timedelta(seconds=60)
    hold_ttl: timedelta = timedelta(days=7)
    sweep_interval: float = 30.0  # seconds between passes of due work (serve and worker)
    # A failing item of due work is retried after job_retry_base, doubling up to job_retry_cap, and parked
    # after job_max_attempts failures; runs of jobs are kept job_run_retention.
    job_retry_base: timedelta = timedelta(seconds=30)
    job_retry_cap: timedelta = timedelta(hours=1)
    job_max_attempts: int = 10
    job_run_retention: timedelta = timedelta(days=7)
    # Keys: the card-fingerprint HMAC key and the provider-event signing secrets (several while rotating).
    # Unset, they are generated once and kept in secrets.json beside the default database.
    secret_key: str | None = None
    webhook_secrets: tuple[str, ...] = ()
    fee_percent_bp: int = 290
    fee_fixed_minor: int = 30
    authorization_ttl: timedelta = timedelta(days=7)
    action_ttl: timedelta = timedelta(days=1)
    approval_ttl: timedelta = timedelta(hours=24)  # how long a held call waits for a decision before it expires
    # elicit: a held call asks the human at the requester's client in the chat, where the client supports
    # elicitation (server/elicitation.py), and otherwise waits for an operator; queue: it always waits.
    approval_mode: str = "elicit"
    background: bool = True
    # Dunning: a failed renewal is tried again these many days after its first failure (with that first try, 8
    # tries within 2 weeks), and after the last failure the subscription is canceled, or kept as unpaid.
    dunning_retry_days: tuple[float, ...] = (1, 2, 3, 5, 7, 10, 14)
    dunning_final: str = "canceled"
    # Outbound webhooks (notifications): deliveries go to public https:// addresses only, unless these allow loopback
    # (development: http:// too) or private ranges; an endpoint failing every delivery this long is disabled.
    webhooks_allow_loopback: bool = False
    webhooks_allow_private: bool = False
    webhooks_disable_after: timedelta = timedelta(days=5)
    # Retention (services/retention.py): a screening's party name and date of birth are removed after
    # screening_retention (its decision stays); spend records (the rolling totals' rows: at least the monthly
    # window) and delivered webhook deliveries (with their event once none is left) are deleted after theirs.
    # Spent idempotency keys go after idempotency_key_ttl (purge_idempotency_keys).
    screening_retention: timedelta = timedelta(days=365)
    spend_record_retention: timedelta = timedelta(days=400)
    webhook_delivery_retention: timedelta = timedelta(days=30)
    log_level: str = "INFO"
    # Host and Origin headers the HTTP transports accept besides those of --host and --port (server/hosts.py).
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    # Who calls (server/access.py). stdio: the key in api_key, or the local user. http/sse: a bearer token on every
    # request (an API key, or a JWT when jwt_issuer and jwks are set), unless no_auth on a loopback address.
    api_key: str | None = field(default=None, repr=False)
    no_auth: bool = False
    resource_url: str | None = None  # this server's URL as clients reach it (RFC 8707/9728); default from --host
    jwt_issuer: str | None = None
    jwt_audience: str | None = None  # default: resource_url
    jwks: str | None = None  # URL or file path of the issuer's signing keys
    jwt_role_claim: str = "role"
    # Monitoring (services/call_stats.py, services/alerts.py, server/prometheus.py). Tool call statistics are added
    # to the database this often by each server process. Alerts: the authorization rate of the last
    # alert_auth_window falling alert_auth_rate_drop percentage points below that of the 7 days before, once the
    # window has alert_auth_min_attempts; a job lagging more than alert_job_lag; a tool failing (internal or
    # unavailable errors) in more than alert_error_rate percent of at least alert_error_min_calls calls in the
    # last alert_error_window. /metrics asks for metrics_token as a bearer token when it is set.
    metrics_flush_seconds: float = 5.0
    alert_auth_window: timedelta = timedelta(hours=1)
    alert_auth_rate_drop: Decimal = Decimal(10)
    alert_auth_min_attempts: int = 20
    alert_job_lag: timedelta = timedelta(minutes=10)
    alert_error_window: timedelta = timedelta(minutes=15)
    alert_error_rate: Decimal = Decimal(5)
    alert_error_min_calls: int = 20
    metrics_token: str | None = field(default=None, repr=False)
    otel_exporter: str | None = None  # console | otlp: telemetry.py
    # Sanctions screening (domain/sanctions.py): a hit scoring at least the review threshold is held for review;
    # at least the block threshold, with the date of birth or the country agreeing, blocks.
    sanctions_review_threshold: float = 0.88
    sanctions_block_threshold: float = 0.97
    # Fraud scoring of create_payment (domain/risk.py): a score (0-100) at least the review score is held for
    # approval, at least the block score is refused (risk_blocked). Amounts are in the payment's own currency.
    risk_review_score: int = 50
    risk_block_score: int = 80
    risk_window: timedelta = timedelta(hours=1)  # of velocity and card testing
    risk_small_amount: Decimal = Decimal("5.00")  # a card tester's probe
    risk_large_amount: Decimal = Decimal("1000.00")  # large for a customer created within 7 days
    # AML monitoring (domain/aml.py), in USD terms at the configured FX rates: a movement of at least aml_large_usd
    # is large (and 80-100% of it, repeated within 24 h, structuring); more than aml_velocity_count movements or
    # aml_velocity_usd moved within aml_velocity_window is velocity; money out within aml_pass_through_window of
    # arriving is rapid pass-through.
    aml_large_usd: Decimal = Decimal("10000.00")
    aml_velocity_window: timedelta = timedelta(hours=1)
    aml_velocity_count: int = 30
    aml_velocity_usd: Decimal = Decimal("50000.00")
    aml_pass_through_window: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if not 0.5 <= self.sanctions_review_threshold <= self.sanctions_block_threshold <= 1.0:
            raise ValueError(
                "sanctions thresholds need 0.5 <= MCP_PAYMENTS_SANCTIONS_REVIEW_THRESHOLD <= "
                "MCP_PAYMENTS_SANCTIONS_BLOCK_THRESHOLD <= 1.0"
            )
        self.risk_rules()  # a ValueError names what is wrong
        if self.job_max_attempts < 1 or self.job_retry_base <= timedelta(0) or self.job_retry_cap < self.job_retry_base:
            raise ValueError(
                "job retries need MCP_PAYMENTS_JOB_MAX_ATTEMPTS >= 1 and 0 < MCP_PAYMENTS_JOB_RETRY_SECONDS <= "
                "MCP_PAYMENTS_JOB_RETRY_MAX_SECONDS"
            )
        if not 0 < self.sweep_interval <= _MAX_SECONDS:
            raise ValueError("the interval between passes of due work must be a positive number of seconds")
        parse_retry_days(",".join(str(d) for d in self.dunning_retry_days))
        if self.dunning_final not in DUNNING_FINAL:
            raise ValueError(f"dunning_final must be one of {', '.join(DUNNING_FINAL)}")
        if not 0 < self.metrics_flush_seconds <= 3600:
            raise ValueError("MCP_PAYMENTS_METRICS_FLUSH_SECONDS must be a positive number of seconds, at most 3600")
        if not (0 <= self.alert_auth_rate_drop <= 100 and 0 <= self.alert_error_rate <= 100):
            raise ValueError("alert rates (MCP_PAYMENTS_ALERT_*_RATE*) are percentages: between 0 and 100")
        if self.approval_mode not in APPROVAL_MODES:
            raise ValueError(f"approval_mode must be one of {', '.join(APPROVAL_MODES)}")
        if self.aml_velocity_count < 1:
            raise ValueError("MCP_PAYMENTS_AML_VELOCITY_COUNT must be at least 1 (movements within the window)")
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log level {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")

    def risk_rules(self) -> risk.Rules:
        try:
            return risk.Rules(
                self.risk_review_score,
                self.risk_block_score,
                self.risk_window,
                small=self.risk_small_amount,
                large=self.risk_large_amount,
            )
        except ValueError:
            raise ValueError(
                "fraud scoring needs 1 <= MCP_PAYMENTS_RISK_REVIEW_SCORE <= MCP_PAYMENTS_RISK_BLOCK_SCORE <= 100, "
                "and positive MCP_PAYMENTS_RISK_SMALL_AMOUNT, MCP_PAYMENTS_RISK_LARGE_AMOUNT and "
                "MCP_PAYMENTS_RISK_WINDOW"
            ) from None

    def aml_rules(self) -> aml.Rules:
        return aml.Rules(
            large=int(self.aml_large_usd * 100),
            velocity_window=self.aml_velocity_window,
            velocity_count=self.aml_velocity_count,
            velocity_amount=int(self.aml_velocity_usd * 100),
            pass_through_window=self.aml_pass_through_window,
        )

    def dunning(self) -> Dunning:
        retries = tuple(timedelta(days=d) for d in self.dunning_retry_days)
        return Dunning(retries, cancel_after_last=self.dunning_final == "canceled")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from MCP_PAYMENTS_* (an empty variable counts as unset), then `overrides` (the CLI's flags).

        A value that cannot be read is a ValueError naming the variable and what it takes: a setting never
        falls back to its default because it was misspelt (MCP_PAYMENTS_READ_ONLY=on must not leave writes on)."""
        read = _Reader(os.environ if env is None else env)
        values: dict[str, object] = {}
        read.into(values, "db_url", "MCP_PAYMENTS_DB_URL", str.strip)
        read.into(values, "principal", "MCP_PAYMENTS_PRINCIPAL", str.strip)
        read.into(values, "read_only", "MCP_PAYMENTS_READ_ONLY", parse_flag)
        read.into(values, "toolsets", "MCP_PAYMENTS_TOOLSETS", parse_toolsets)
        read.into(values, "fx_rates", "MCP_PAYMENTS_FX_RATES", parse_fx_rates)
        read.into(values, "dedup_window", "MCP_PAYMENTS_DEDUP_WINDOW_SECONDS", _window)
        read.into(values, "secret_key", "MCP_PAYMENTS_SECRET_KEY", str)
        read.into(values, "webhook_secrets", "MCP_PAYMENTS_WEBHOOK_SECRETS", _secrets)
        if (fees := read("MCP_PAYMENTS_FEES", parse_fees)) is not None:
            values["fee_percent_bp"], values["fee_fixed_minor"] = fees
        read.into(values, "authorization_ttl", "MCP_PAYMENTS_AUTHORIZATION_DAYS", _days)
        read.into(values, "approval_ttl", "MCP_PAYMENTS_APPROVAL_TTL", _approval_ttl)
        read.into(values, "approval_mode", "MCP_PAYMENTS_APPROVAL_MODE", parse_approval_mode)
        read.into(values, "sweep_interval", "MCP_PAYMENTS_JOB_INTERVAL_SECONDS", parse_seconds)
        read.into(values, "job_max_attempts", "MCP_PAYMENTS_JOB_MAX_ATTEMPTS", parse_attempts)
        read.into(values, "job_retry_base", "MCP_PAYMENTS_JOB_RETRY_SECONDS", _delay)
        read.into(values, "job_retry_cap", "MCP_PAYMENTS_JOB_RETRY_MAX_SECONDS", _delay)
        read.into(values, "dunning_retry_days", "MCP_PAYMENTS_DUNNING_RETRY_DAYS", parse_retry_days)
        read.into(values, "dunning_final", "MCP_PAYMENTS_DUNNING_FINAL", parse_dunning_final)
        read.into(values, "log_level", "MCP_PAYMENTS_LOG_LEVEL", parse_log_level)
        read.into(values, "webhooks_allow_loopback", "MCP_PAYMENTS_WEBHOOKS_ALLOW_LOOPBACK", parse_flag)
        read.into(values, "webhooks_allow_private", "MCP_PAYMENTS_WEBHOOKS_ALLOW_PRIVATE", parse_flag)
        read.into(values, "webhooks_disable_after", "MCP_PAYMENTS_WEBHOOKS_DISABLE_AFTER_DAYS", _days)
        read.into(values, "screening_retention", "MCP_PAYMENTS_SCREENING_RETENTION_DAYS", _retention(1))
        read.into(values, "spend_record_retention", "MCP_PAYMENTS_SPEND_RECORD_RETENTION_DAYS", _retention(32))
        read.into(values, "webhook_delivery_retention", "MCP_PAYMENTS_WEBHOOK_DELIVERY_RETENTION_DAYS", _retention(1))
        read.into(values, "allowed_hosts", "MCP_PAYMENTS_ALLOWED_HOSTS", parse_allowed_hosts)
        read.into(values, "allowed_origins", "MCP_PAYMENTS_ALLOWED_ORIGINS", parse_allowed_origins)
        read.into(values, "api_key", "MCP_PAYMENTS_API_KEY", str.strip)
        read.into(values, "no_auth", "MCP_PAYMENTS_NO_AUTH", parse_flag)
        read.into(values, "resource_url", "MCP_PAYMENTS_RESOURCE_URL", parse_url)
        read.into(values, "jwt_issuer", "MCP_PAYMENTS_JWT_ISSUER", parse_url)
        read.into(values, "jwt_audience", "MCP_PAYMENTS_JWT_AUDIENCE", str.strip)
        read.into(values, "jwks", "MCP_PAYMENTS_JWKS", parse_jwks)
        read.into(values, "jwt_role_claim", "MCP_PAYMENTS_JWT_ROLE_CLAIM", str.strip)
        read.into(values, "metrics_flush_seconds", "MCP_PAYMENTS_METRICS_FLUSH_SECONDS", parse_seconds)
        read.into(values, "metrics_token", "MCP_PAYMENTS_METRICS_TOKEN", str.strip)
        read.into(values, "otel_exporter", "MCP_PAYMENTS_OTEL_EXPORTER", parse_exporter)
        read.into(values, "alert_auth_window", "MCP_PAYMENTS_ALERT_AUTH_WINDOW", parse_duration)
        read.into(values, "alert_auth_rate_drop", "MCP_PAYMENTS_ALERT_AUTH_RATE_DROP", parse_percent)
        read.into(values, "alert_auth_min_attempts", "MCP_PAYMENTS_ALERT_AUTH_MIN_ATTEMPTS", parse_count)
        read.into(values, "alert_job_lag", "MCP_PAYMENTS_ALERT_JOB_LAG", parse_duration)
        read.into(values, "alert_error_window", "MCP_PAYMENTS_ALERT_ERROR_WINDOW", parse_duration)
        read.into(values, "alert_error_rate", "MCP_PAYMENTS_ALERT_ERROR_RATE", parse_percent)
        read.into(values, "alert_error_min_calls", "MCP_PAYMENTS_ALERT_ERROR_MIN_CALLS", parse_count)
        read.into(values, "sanctions_review_threshold", "MCP_PAYMENTS_SANCTIONS_REVIEW_THRESHOLD", parse_score)
        read.into(values, "sanctions_block_threshold", "MCP_PAYMENTS_SANCTIONS_BLOCK_THRESHOLD", parse_score)
        read.into(values, "risk_review_score", "MCP_PAYMENTS_RISK_REVIEW_SCORE", parse_risk_score)
        read.into(values, "risk_block_score", "MCP_PAYMENTS_RISK_BLOCK_SCORE", parse_risk_score)
        read.into(values, "risk_window", "MCP_PAYMENTS_RISK_WINDOW", parse_duration)
        read.into(values, "risk_small_amount", "MCP_PAYMENTS_RISK_SMALL_AMOUNT", parse_decimal_amount)
        read.into(values, "risk_large_amount", "MCP_PAYMENTS_RISK_LARGE_AMOUNT", parse_decimal_amount)
        read.into(values, "aml_large_usd", "MCP_PAYMENTS_AML_LARGE_USD", parse_usd)
        read.into(values, "aml_velocity_window", "MCP_PAYMENTS_AML_VELOCITY_WINDOW", parse_duration)
        read.into(values, "aml_velocity_count", "MCP_PAYMENTS_AML_VELOCITY_COUNT", parse_count)
        read.into(values, "aml_velocity_usd", "MCP_PAYMENTS_AML_VELOCITY_USD", parse_usd)
        read.into(values, "aml_pass_through_window", "MCP_PAYMENTS_AML_PASS_THROUGH_WINDOW", parse_duration)
        if ("jwt_issuer" in values) != ("jwks" in values):
            raise ValueError(
                "JWT access tokens need both MCP_PAYMENTS_JWT_ISSUER (the issuer's URL) and MCP_PAYMENTS_JWKS (its "
                "signing keys: a URL or a file); set both, or neither to accept API keys only"
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]  # keys are this class's fields


T = TypeVar("T")


class _Reader:
    """Reads one variable with its parser; a ValueError names the variable, so the one line at start says which."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def __call__(self, name: str, parse: Callable[[str], T]) -> T | None:
        text = self.env.get(name, "")
        if not text.strip():
            return None
        try:
            return parse(text)
        except ValueError as error:
            reason = str(error)
            raise ValueError(reason if name in reason else f"{name}: {reason}") from None

    def into(self, values: dict[str, object], key: str, name: str, parse: Callable[[str], object]) -> None:
        if (value := self(name, parse)) is not None:
            values[key] = value


# The spellings people use for yes and no, as systemd, Docker and most shells accept them.
_YES = ("true", "1", "yes", "y", "on", "enabled", "enable")
_NO = ("false", "0", "no", "n", "off", "disabled", "disable")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_score(text: str) -> float:
    """A similarity threshold: a decimal between 0 and 1, e.g. 0.88."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text.strip()[:20]!r} is not a decimal between 0 and 1, e.g. 0.88") from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise ValueError(f"{text.strip()[:20]!r} is not a decimal between 0 and 1, e.g. 0.88")
    return float(value)


def parse_flag(text: str) -> bool:
    """A yes/no setting. Anything but the usual spellings is refused: a safety switch must not fail open."""
    value = text.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValueError(f"{text!r} is not yes or no: use true or false (also accepted: {'/'.join(_YES)}, {'/'.join(_NO)})")


DUNNING_FINAL = ("canceled", "unpaid")
APPROVAL_MODES = ("elicit", "queue")
MAX_RETRIES = 20


def parse_retry_days(text: str) -> tuple[float, ...]:
    """Days after a renewal's first failure to try it again, increasing: "1,2,3,5,7,10,14". Empty: no retry."""
    try:
        days = tuple(float(d) for d in text.split(",") if d.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of days, e.g. 1,2,3,5,7,10,14") from None
    if len(days) > MAX_RETRIES or any(not 0 < d <= 366 for d in days) or list(days) != sorted(set(days)):
        raise ValueError(
            f"{text!r}: dunning retries are at most {MAX_RETRIES} increasing numbers of days, each above 0 and at most "
            "366, e.g. 1,2,3,5,7,10,14"
        )
    return days


def parse_dunning_final(text: str) -> str:
    value = text.strip().lower()
    if value not in DUNNING_FINAL:
        raise ValueError(f"{text!r} is not canceled or unpaid (what a subscription becomes after its last retry)")
    return value


def parse_log_level(text: str) -> str:
    level = text.strip().upper()
    level = "WARNING" if level == "WARN" else level
    if level not in LOG_LEVELS:
        raise ValueError(f"{text!r} is not a log level: use one of {', '.join(LOG_LEVELS)}")
    return level


def _secrets(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


# The longest wait any setting may ask for: longer ones are typos, and overflow timedelta and the event loop.
_MAX_SECONDS = 366 * 86400.0


def _seconds_in(text: str, what: str, *, zero: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of {what}") from None
    most = _MAX_SECONDS if what == "seconds" else _MAX_SECONDS / 86400
    if not (value >= 0 if zero else value > 0) or not value <= most:
        least = "0 or more" if zero else "a positive number of"
        raise ValueError(f"{text!r} must be {least} {what}, at most a year")
    return value


def _window(text: str) -> timedelta:
    return timedelta(seconds=_seconds_in(text, "seconds", zero=True))


def _days(text: str) -> timedelta:
    return timedelta(days=_seconds_in(text, "days"))


def _retention(least: int) -> Callable[[str], timedelta]:
    """A retention window in whole days, from `least` (spend records back the monthly limits: 32) to ten years."""

    def parse(text: str) -> timedelta:
        try:
            days = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number of days") from None
        if not least <= days <= 3660:
            raise ValueError(f"{text!r}: a retention window is {least} to 3660 days")
        return timedelta(days=days)

    return parse


def parse_approval_mode(text: str) -> str:
    """elicit (ask the human in the chat where the client can) or queue (always wait for an operator)."""
    value = text.strip().lower()
    if value not in APPROVAL_MODES:
        raise ValueError(f"{text!r} is not an approval mode: use elicit or queue")
    return value


def _approval_ttl(text: str) -> timedelta:
    ttl = parse_duration(text)
    if ttl > timedelta(days=366):
        raise ValueError(f"approval TTL {text!r} is longer than a year")
    return ttl


def _delay(text: str) -> timedelta:
    return timedelta(seconds=parse_seconds(text))


def parse_url(text: str) -> str:
    """An http(s) URL with a host, as given (trailing slash and all: issuers are compared exactly)."""
    url = urlsplit(text.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"{text!r} is not an http(s) URL like https://auth.example.com")
    return text.strip()


def parse_jwks(text: str) -> str:
    """A JWKS URL (https, or http from a loopback address only: keys fetched in the clear could be swapped) or a
    file path."""
    text = text.strip()
    if "://" not in text:
        return text
    url = parse_url(text)
    host = urlsplit(url).hostname or ""
    if url.startswith("http://") and not _loopback_name(host):
        raise ValueError(f"{text!r} is fetched over plain http: use https (or a file path)")
    return url


def _loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_DURATION = re.compile(r"\s*([0-9]{1,6})\s*([smhdw])\s*")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """ "90d" -> 90 days; units s, m, h, d, w."""
    match = _DURATION.fullmatch(text.lower())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"duration {text!r} is not a positive number with a unit s, m, h, d or w, like 90d or 12h")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def parse_percent(text: str) -> Decimal:
    """A percentage (or percentage points) from 0 to 100, like 10 or 2.5."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a percentage like 10 or 2.5") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError(f"{text!r} is not a percentage between 0 and 100")
    return value


def parse_risk_score(text: str) -> int:
    """A fraud score threshold: a whole number from 1 to 100."""
    value = text.strip()
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 100):
        raise ValueError(f"{value[:20]!r} is not a whole number between 1 and 100, e.g. 80")
    return int(value)


def parse_decimal_amount(text: str) -> Decimal:
    """A positive amount written as a decimal, like 5.00 (never a float)."""
    value = text.strip()
    if re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,6})?", value) is None or Decimal(value) <= 0:
        raise ValueError(f"{value[:20]!r} is not a positive amount like 5.00")
    return Decimal(value)


def parse_usd(text: str) -> Decimal:
    """A positive USD amount with at most 2 decimals, like 10000 or 9500.50 (never a float)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a USD amount like 10000.00") from None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value > 10**12:
        raise ValueError(f"{text!r} is not a positive USD amount with at most 2 decimals, like 10000.00")
    return value


def parse_count(text: str) -> int:
    """A whole number from 0 to 1,000,000."""
    if not text.strip().isascii() or not text.strip().isdigit() or int(text) > 1_000_000:
        raise ValueError(f"{text!r} is not a whole number between 0 and 1000000")
    return int(text)


def parse_toolsets(text: str) -> frozenset[str]:
    """The names; which exist is the catalog's to say (catalog.check_toolsets, at start)."""
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ValueError(f"toolsets {text!r} name none: list them comma-separated, like payments,wallets")
    return names


def parse_fx_rates(text: str) -> dict[str, Decimal]:
    """ "EUR/USD=1.08,GBP/USD=1.27" -> {"EUR/USD": Decimal("1.08"), ...}."""
    rates: dict[str, Decimal] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        pair, _, rate = part.partition("=")
        try:
            value = Decimal(rate)
        except InvalidOperation:
            raise ValueError(f"FX rate {part!r} is not like EUR/USD=1.08") from None
        if len(pair) != 7 or pair[3] != "/" or not value.is_finite() or value <= 0:
            raise ValueError(f"FX rate {part!r} is not like EUR/USD=1.08")
        rates[pair.upper()] = value
    RateTable(rates)  # refuses rates that contradict each other, so the server does not start with them
    return rates


def parse_seconds(text: str) -> float:
    """A positive number of seconds, at most a year ("0.5", "30")."""
    return _seconds_in(text, "seconds")


def parse_attempts(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{text!r} must be a whole number of at least 1")
    return int(text)


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


_HOST = re.compile(r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(?P<port>\*|[0-9]{1,5}))?")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")  # "_": compose service names carry it


def parse_allowed_hosts(text: str) -> tuple[str, ...]:
    """ "payments.example.com,payments.example.com:8443" -> Host header values, as the HTTP client sends them."""
    hosts = []
    for entry in _entries(text, "allowed hosts"):
        host = _host_header(entry)
        if host is None:
            hint = "; a host, not a URL" if "://" in entry else ""
            if entry.count(":") > 1 and "[" not in entry:
                hint = "; an IPv6 address goes in brackets"
            raise ValueError(
                f"allowed host {entry!r} is not a name or address with an optional :port or :*, like "
                f"payments.example.com:8000 or [::1]:8000{hint}"
            )
        hosts.append(host)
    return tuple(hosts)


def parse_allowed_origins(text: str) -> tuple[str, ...]:
    """ "https://app.example.com,http://localhost:*" -> Origin header values (scheme://host[:port], no path)."""
    origins = []
    for entry in _entries(text, "allowed origins"):
        scheme, separator, rest = entry.lower().partition("://")
        host = _host_header(rest) if separator and scheme in ("http", "https") else None
        if host is None:
            raise ValueError(
                f"allowed origin {entry!r} is not http(s)://host with an optional :port or :* and no path, like "
                "https://app.example.com or http://localhost:8000"
            )
        origins.append(f"{scheme}://{host}")
    return tuple(origins)


def _entries(text: str, what: str) -> list[str]:
    entries = [e.strip() for e in text.split(",")]
    if "" in entries:
        raise ValueError(f"{what} {text!r} have an empty entry; separate them with single commas")
    return entries


def _host_header(text: str) -> str | None:
    """`text` as a Host header value (lower case), or None when it is not one."""
    value = text.lower()
    match = _HOST.fullmatch(value)
    return value if match and _is_host(match["host"]) and _is_port(match["port"]) else None


def _is_host(host: str) -> bool:
    if host.startswith("["):
        return _is_address(host[1:-1], ipaddress.IPv6Address)
    if re.fullmatch(r"[0-9.]+", host):
        return _is_address(host, ipaddress.IPv4Address)
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in host.split("."))


def _is_address(text: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _is_port(text: str | None) -> bool:
    return text is None or text == "*" or 1 <= int(text) <= 65535


def secrets_path() -> Path:
    return Path(user_data_dir("mcp-payments", appauthor=False)) / "secrets.json"
