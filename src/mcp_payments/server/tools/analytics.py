"""Analytics tools: revenue, payment performance, customers, subscriptions and forecasts, each with an optional
chart. Read tools: a viewer may call them (they show totals, no card data and no personal data but customer ids)."""

from datetime import date
from typing import Annotated, Literal

import anyio.to_thread
from pydantic import ConfigDict, Field

from mcp_payments.domain.periods import Granularity
from mcp_payments.server import charts
from mcp_payments.server.registry import Toolbox
from mcp_payments.server.tools.models import Charted
from mcp_payments.server.tools.params import CurrencyCode
from mcp_payments.services.analytics import reports as r
from mcp_payments.services.analytics.service import AnalyticsService, Question
from mcp_payments.services.container import Services
from mcp_payments.services.ports import UnitOfWork

StartDate = Annotated[
    date | None,
    Field(default=None, description="First day, included (YYYY-MM-DD, in time_zone). Default: 30 days before end."),
]
EndDate = Annotated[date | None, Field(default=None, description="Last day, included (YYYY-MM-DD). Default: today.")]
TimeZone = Annotated[
    str,
    Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone the days are counted in, e.g. Europe/Paris; DST days are 23 or 25 hours.",
    ),
]
OneCurrency = Annotated[
    CurrencyCode | None, Field(default=None, description="Only this currency (ISO 4217). Default: every currency.")
]
Period = Annotated[
    Literal["day", "week", "month"], Field(default="day", description="Bucket size: day, week (ISO) or month.")
]
ChartFlag = Annotated[
    bool, Field(default=False, description="Also return a PNG chart and a short text summary beside the data.")
]
Top = Annotated[int, Field(default=10, strict=True, ge=1, le=100, description="How many to list, 1-100.")]
Rates = Annotated[
    dict[Annotated[str, Field(pattern="^[A-Za-z]{3}$")], Annotated[str, Field(min_length=1, max_length=30)]] | None,
    Field(
        default=None,
        max_length=50,
        description="With target_currency: units of the target per 1 unit of each currency, as decimal strings, "
        'e.g. {"EUR": "1.08", "JPY": "0.0067"}.',
    ),
]


class Report(Charted):
    model_config = ConfigDict(from_attributes=True)


class RevenueSummary(Report):
    start_date: str
    end_date: str
    time_zone: str
    granularity: str
    currencies: list[r.CurrencyRevenue] = Field(description="Per currency: the range's total and each period.")
    converted: r.CurrencyRevenue | None = Field(description="Everything in target_currency, when rates were given.")
    conversion: str | None = Field(description="The rates used and the rounding rule, when converted.")
    definitions: str


class PaymentSuccessRates(Report):
    start_date: str
    end_date: str
    time_zone: str
    overall: r.Authorizations
    challenges: int = Field(description="3-D Secure challenges asked for; they count only once completed.")
    top_decline_codes: list[r.DeclineCode]
    by_brand: list[r.Authorizations]
    by_currency: list[r.Authorizations]
    refunds_and_disputes: list[r.RefundsAndDisputes]
    definitions: str


class CustomerInsights(Report):
    start_date: str
    end_date: str
    time_zone: str
    paying_customers: int
    new_customers: int
    returning_customers: int
    top_customers: list[r.TopCustomer] = Field(description="By net revenue, per currency, best first.")
    by_currency: list[r.CurrencyCustomers]
    cohorts: list[r.Cohort]
    monthly_churn: str | None
    ltv_formula: str
    definitions: str


class SubscriptionMetrics(Report):
    start_date: str
    end_date: str
    time_zone: str
    currencies: list[r.CurrencyMrr]
    trials_ended: int
    trials_converted: int
    trial_conversion_rate: str | None
    mrr_rule: str
    definitions: str


class RevenueForecast(Report):
    currency: str
    granularity: str
    time_zone: str
    method: str
    season_length: int | None
    history: list[r.Point] = Field(description="Net revenue per period, as in get_revenue_summary.")
    forecast: list[r.Point] = Field(description="Each future period's estimate with its 95 % prediction interval.")
    parameters: dict[str, str]
    backtest: r.Backtest | None
    definitions: str
    notes: list[str]


def _f(text: str | None) -> float | None:
    return None if text is None else float(text)


async def _draw(chart: charts.Chart) -> bytes:
    return await anyio.to_thread.run_sync(charts.render, chart)


def register(box: Toolbox, app: Services) -> None:
    service = app.get(AnalyticsService)

    def ask(start: date | None, end: date | None, tz: str, currency: str | None, days: int = 30) -> Question:
        return service.question(start, end, tz, currency, days)

    @box.query(toolset="analytics", title="Revenue summary")
    async def get_revenue_summary(
        uow: UnitOfWork,
        start_date: StartDate = None,
        end_date: EndDate = None,
        time_zone: TimeZone = "UTC",
        granularity: Period = "day",
        currency: OneCurrency = None,
        target_currency: Annotated[
            CurrencyCode | None, Field(default=None, description="Convert everything into this currency.")
        ] = None,
        rates: Rates = None,
        chart: ChartFlag = False,
    ) -> RevenueSummary:
        """Gross revenue, refunds, disputes, fees and net, with counts, per currency and per day, week or month in
        a time zone. Use it for "how much did we make". Currencies are never added together unless you give
        target_currency and rates."""
        q = ask(start_date, end_date, time_zone, currency)
        report = await service.revenue(uow, q, Granularity(granularity), target_currency, rates)
        out = RevenueSummary.model_validate(report)
        if chart:
            shown = [report.converted] if report.converted else report.currencies
            labels = [p.period for p in shown[0].periods] if shown else []
            series = [charts.Series(f"net {c.currency}", [float(p.net) for p in c.periods]) for c in shown]
            totals = "; ".join(f"{c.currency}: gross {c.total.gross}, net {c.total.net}" for c in shown)
            summary = f"Revenue {report.start_date}..{report.end_date} ({time_zone}) per {granularity}: " + (
                totals or "no revenue"
            )
            title = f"Net revenue per {granularity}, {report.start_date}..{report.end_date}"
            spec = charts.Chart(title, labels, series, "net revenue", "bar", apart=True)
            out.with_chart(await _draw(spec), summary)
        return out

    @box.query(toolset="analytics", title="Payment success rates")
    async def get_payment_success_rates(
        uow: UnitOfWork,
        start_date: StartDate = None,
        end_date: EndDate = None,
        time_zone: TimeZone = "UTC",
        currency: OneCurrency = None,
        top: Top = 10,
        chart: ChartFlag = False,
    ) -> PaymentSuccessRates:
        """The authorization rate (as Stripe counts it: declines count, unfinished 3-D Secure does not), the top
        decline codes, the rate by card brand and currency, and the refund and dispute rates. Use it for "why are
        payments failing"."""
        report = await service.success_rates(uow, ask(start_date, end_date, time_zone, currency), top)
        out = PaymentSuccessRates.model_validate(report)
        if chart:
            codes = report.top_decline_codes
            summary = (
                f"Authorization rate {report.overall.authorization_rate or 'n/a'} "
                f"({report.overall.approved} approved, {report.overall.declined} declined); top declines: "
                + (", ".join(f"{d.code} {d.count}" for d in codes) or "none")
            )
            series = [charts.Series("declines", [float(d.count) for d in codes])]
            chart_spec = charts.Chart("Top decline codes", [d.code for d in codes], series, "declines", "bar")
            out.with_chart(await _draw(chart_spec), summary)
        return out

    @box.query(toolset="analytics", title="Customer insights")
    async def get_customer_insights(
        uow: UnitOfWork,
        start_date: StartDate = None,
        end_date: EndDate = None,
        time_zone: TimeZone = "UTC",
        currency: OneCurrency = None,
        top: Top = 10,
        chart: ChartFlag = False,
    ) -> CustomerInsights:
        """Top customers by net revenue, new versus returning customers, cohort retention by month of first
        payment, ARPA and an LTV estimate (its formula is in ltv_formula). Default range: the last 90 days."""
        report = await service.customers(uow, ask(start_date, end_date, time_zone, currency, 90), top)
        out = CustomerInsights.model_validate(report)
        if chart:
            width = max((len(c.retention) for c in report.cohorts), default=0)
            series = [charts.Series(c.month, [_f(v) for v in c.retention]) for c in report.cohorts]
            summary = (
                f"{report.paying_customers} paying customers ({report.new_customers} new, "
                f"{report.returning_customers} returning); monthly churn {report.monthly_churn or 'n/a'}"
            )
            labels = [f"month {k}" for k in range(width)]
            spec = charts.Chart("Cohort retention by month of first payment", labels, series, "share retained")
            out.with_chart(await _draw(spec), summary)
        return out

    @box.query(toolset="analytics", title="Subscription metrics")
    async def get_subscription_metrics(
        uow: UnitOfWork,
        start_date: StartDate = None,
        end_date: EndDate = None,
        time_zone: TimeZone = "UTC",
        currency: OneCurrency = None,
        chart: ChartFlag = False,
    ) -> SubscriptionMetrics:
        """MRR and ARR, active subscriptions, the MRR movements between the range's start and end (new,
        expansion, reactivation, contraction, churn) with their identity checked, logo churn, gross and net revenue
        retention, and trial conversion, per currency."""
        report = await service.subscriptions(uow, ask(start_date, end_date, time_zone, currency))
        out = SubscriptionMetrics.model_validate(report)
        if chart:
            steps = ["start", "new", "expansion", "reactivation", "contraction", "churn", "end"]
            series = [
                charts.Series(
                    c.currency,
                    [
                        float(v)
                        for v in (c.mrr_start, c.new, c.expansion, c.reactivation, c.contraction, c.churn, c.mrr_end)
                    ],
                )
                for c in report.currencies
            ]
            summary = "; ".join(
                f"{c.currency}: MRR {c.mrr_start} -> {c.mrr_end} (new {c.new}, churn {c.churn})"
                for c in report.currencies
            )
            spec = charts.Chart("MRR movements", steps, series, "MRR", "bar", apart=True)
            out.with_chart(await _draw(spec), summary or "no subscription revenue")
        return out

    @box.query(toolset="analytics", title="Forecast revenue")
    async def forecast_revenue(
        uow: UnitOfWork,
        start_date: Annotated[
            date | None, Field(default=None, description="First day of history (default: a year before end).")
        ] = None,
        end_date: EndDate = None,
        time_zone: TimeZone = "UTC",
        granularity: Annotated[
            Literal["day", "week", "month"], Field(default="week", description="Period of the series.")
        ] = "week",
        currency: OneCurrency = None,
        horizon: Annotated[int, Field(default=8, strict=True, description="Periods to forecast, 1-366.")] = 8,
        method: Annotated[
            Literal["holt_winters", "linear"],
            Field(default="holt_winters", description="holt_winters (additive season) or linear (a trend)."),
        ] = "holt_winters",
        season_length: Annotated[
            int | None,
            Field(default=None, strict=True, ge=2, le=366, description="Periods per season (default 7/52/12)."),
        ] = None,
        chart: ChartFlag = False,
    ) -> RevenueForecast:
        """Forecast net revenue of one currency: Holt-Winters (additive) or a linear trend, with 95 % prediction
        intervals and a backtest error. Holt-Winters needs at least two seasons of history."""
        q = ask(start_date, end_date, time_zone, currency, 366)
        report = await service.forecast(uow, q, Granularity(granularity), horizon, method, season_length)
        out = RevenueForecast.model_validate(report)
        if chart:
            labels = [p.period for p in report.history] + [p.period for p in report.forecast]
            n = len(report.history)
            series = [
                charts.Series("history", [float(p.value) for p in report.history]),
                charts.Series(
                    f"{method} forecast",
                    [float(p.value) for p in report.forecast],
                    [float(p.lower or p.value) for p in report.forecast],
                    [float(p.upper or p.value) for p in report.forecast],
                    offset=n,
                ),
            ]
            last = report.forecast[-1]
            summary = (
                f"{method} forecast of net {report.currency} revenue: {last.period} {last.value} "
                f"(95 % {last.lower}..{last.upper})"
            )
            spec = charts.Chart(f"Net revenue forecast ({report.currency})", labels, series, "net revenue")
            out.with_chart(await _draw(spec), summary)
        return out
