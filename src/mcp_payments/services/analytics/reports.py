"""What the analytics tools answer: plain dataclasses of decimal strings and counts (the tools publish them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RevenueLine:
    period: str  # the bucket's label, or "total"
    gross: str
    payments: int
    refunds: str
    refund_count: int
    disputes: str
    dispute_count: int
    fees: str
    net: str


@dataclass(frozen=True, slots=True)
class CurrencyRevenue:
    currency: str
    total: RevenueLine
    periods: list[RevenueLine]


@dataclass(frozen=True, slots=True)
class RevenueReport:
    start_date: str
    end_date: str
    time_zone: str
    granularity: str
    currencies: list[CurrencyRevenue]
    converted: CurrencyRevenue | None  # everything in the target currency, when rates were given
    conversion: str | None  # the rates and the rounding rule used
    definitions: str


@dataclass(frozen=True, slots=True)
class Authorizations:
    key: str  # a brand, a currency, or "all"
    approved: int
    declined: int
    authorization_rate: str | None


@dataclass(frozen=True, slots=True)
class DeclineCode:
    code: str
    count: int
    share: str | None  # of all declines


@dataclass(frozen=True, slots=True)
class RefundsAndDisputes:
    currency: str
    succeeded_payments: int
    refunded_payments: int
    refund_rate: str | None
    refunded: str
    captured: str
    refunded_amount_rate: str | None
    disputed_payments: int
    dispute_rate: str | None


@dataclass(frozen=True, slots=True)
class SuccessReport:
    start_date: str
    end_date: str
    time_zone: str
    overall: Authorizations
    challenges: int  # 3-D Secure challenges asked for (not counted in the rate)
    top_decline_codes: list[DeclineCode]
    by_brand: list[Authorizations]
    by_currency: list[Authorizations]
    refunds_and_disputes: list[RefundsAndDisputes]
    definitions: str


@dataclass(frozen=True, slots=True)
class TopCustomer:
    customer_id: str
    currency: str
    net_revenue: str
    payments: int


@dataclass(frozen=True, slots=True)
class CurrencyCustomers:
    currency: str
    net_revenue: str
    paying_customers: int
    arpa: str | None
    arpa_monthly: str | None
    ltv: str | None


@dataclass(frozen=True, slots=True)
class Cohort:
    month: str
    customers: int
    retention: list[str | None]  # month 0, 1, ... after the first payment: share of the cohort paying again


@dataclass(frozen=True, slots=True)
class CustomerReport:
    start_date: str
    end_date: str
    time_zone: str
    paying_customers: int
    new_customers: int
    returning_customers: int
    top_customers: list[TopCustomer]
    by_currency: list[CurrencyCustomers]
    cohorts: list[Cohort]
    monthly_churn: str | None
    ltv_formula: str
    definitions: str


@dataclass(frozen=True, slots=True)
class CurrencyMrr:
    currency: str
    mrr_start: str
    new: str
    expansion: str
    reactivation: str
    contraction: str
    churn: str
    mrr_end: str
    arr_end: str
    identity_holds: bool
    active_subscriptions_start: int
    active_subscriptions_end: int
    churned_subscriptions: int
    logo_churn_rate: str | None
    gross_revenue_retention: str | None
    net_revenue_retention: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionReport:
    start_date: str
    end_date: str
    time_zone: str
    currencies: list[CurrencyMrr]
    trials_ended: int
    trials_converted: int
    trial_conversion_rate: str | None
    mrr_rule: str
    definitions: str


@dataclass(frozen=True, slots=True)
class Point:
    period: str
    value: str
    lower: str | None = None
    upper: str | None = None


@dataclass(frozen=True, slots=True)
class Backtest:
    points: int
    mean_absolute_error: str
    mean_absolute_percentage_error: str | None


@dataclass(frozen=True, slots=True)
class ForecastReport:
    currency: str
    granularity: str
    time_zone: str
    method: str
    season_length: int | None
    history: list[Point]
    forecast: list[Point]
    parameters: dict[str, str]
    backtest: Backtest | None
    definitions: str
    notes: list[str] = field(default_factory=list)
