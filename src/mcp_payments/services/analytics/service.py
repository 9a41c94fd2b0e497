"""The analytics use cases: check the question, ask the database for its groups, and finish the arithmetic.

Every sum is made by the database (ports.AnalyticsRepository); here only a few grouped rows are combined into
rates, monthly values and conversions, exactly (domain/metrics.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from mcp_payments.domain import forecast, metrics
from mcp_payments.domain.errors import InvalidInput
from mcp_payments.domain.money import currency as iso_currency
from mcp_payments.domain.money import format_minor
from mcp_payments.domain.periods import DateRange, Granularity, date_range, next_start, zone
from mcp_payments.services.analytics import reports as r
from mcp_payments.services.analytics.ports import ANALYTICS, AnalyticsRepository, Sums, Window
from mcp_payments.services.ports import Clock, UnitOfWork

DEFAULT_DAYS = 30
MAX_HORIZON = 366
SEASONS = {Granularity.DAY: 7, Granularity.WEEK: 52, Granularity.MONTH: 12}

REVENUE_DEFINITIONS = (
    "gross: money captured by payments created in the period; fees: the provider fees on them; refunds: refunds "
    "(pending or succeeded) made in the period; disputes: money disputes took back in the period; net = gross - "
    "refunds - disputes - fees. Periods are calendar days, ISO weeks (Monday first) or months in time_zone; the "
    "first and last may be partial."
)
SUCCESS_DEFINITIONS = (
    "authorization_rate = approved / (approved + declined) over the card authorizations and 3-D Secure "
    "confirmations made in the range; a 3-D Secure challenge not (yet) completed and a call refused before "
    "reaching the card network (limits, approvals) do not count. refund_rate: succeeded payments with a refund / "
    "succeeded payments; refunded_amount_rate: refunded / captured; dispute_rate: disputed payments / succeeded "
    "payments, over the payments created in the range. Rates are decimal fractions (0.9500 is 95 %)."
)
LTV_FORMULA = (
    "ltv = arpa_monthly / monthly_churn, with arpa_monthly = net revenue / paying customers / (days in range / "
    "30.4375) and monthly_churn = 1 - (customers who paid again in the month after the month of their first "
    "payment / the customers of those cohorts), over the cohorts whose next month falls in the range; null when "
    "that churn is 0 or unknown"
)
CUSTOMER_DEFINITIONS = (
    "net revenue of a payment: captured - refunded, or 0 once disputed; over the payments with a customer created "
    "in the range. new: paying customers whose first paying payment (any currency) falls in the range; returning: "
    "the others. Cohorts: customers by the month of their first payment, retention[k] = the share of the cohort "
    "paying in its k-th month after (month 0 = 1). arpa = net revenue / paying customers, per currency."
)
SUBSCRIPTION_DEFINITIONS = (
    "MRR at an instant: the paid invoices' plan lines whose period covers it, of subscriptions not canceled by then, "
    "normalised to a month (mrr_rule); trials and unpaid periods count 0. A plan change shows from the first period "
    "invoiced at the new price. Movements compare each subscription at the range's start and end: new (0 -> more, "
    "never paid before), reactivation (0 -> more, paid before), expansion, contraction, churn (more -> 0); "
    "mrr_start + new + expansion + reactivation - contraction - churn = mrr_end, checked exactly (identity_holds) "
    "before each figure is rounded. arr = 12 * mrr. logo churn = churned subscriptions / active at start; gross "
    "revenue retention = (start - contraction - churn) / start; net = (start + expansion - contraction - churn) / "
    "start. Trial conversion: trials ending in the range whose subscription paid a non-zero invoice after it."
)


@dataclass(frozen=True, slots=True)
class Question:
    """The range a tool is asked about, in a time zone, and maybe one currency."""

    range: DateRange
    time_zone: str
    currency: str | None

    @property
    def window(self) -> Window:
        return Window(self.range.start, self.range.end, self.currency)


class AnalyticsService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def question(
        self,
        start_date: date | None,
        end_date: date | None,
        time_zone: str,
        currency: str | None,
        default_days: int = DEFAULT_DAYS,
    ) -> Question:
        tz = zone(time_zone)
        code = iso_currency(currency).code if currency is not None else None
        return Question(date_range(start_date, end_date, tz, self.clock.now(), default_days), time_zone, code)

    async def revenue(
        self,
        uow: UnitOfWork,
        q: Question,
        granularity: Granularity,
        target_currency: str | None = None,
        rates: Mapping[str, str] | None = None,
    ) -> r.RevenueReport:
        parsed = self._rates(target_currency, rates)
        repo = uow.repo(ANALYTICS)
        buckets = q.range.buckets(granularity)
        labels = [b.label for b in buckets]
        gross, refunds, disputes = await repo.revenue(buckets, q.currency)
        rows = {"gross": gross, "refunds": refunds, "disputes": disputes}
        codes = {s.currency for found in rows.values() for s in found} | ({q.currency} if q.currency else set())
        currencies = [_revenue_of(code, labels, rows) for code in sorted(codes)]
        converted, conversion = None, None
        if target_currency is not None:
            missing = sorted(codes - set(parsed))
            if missing:
                raise InvalidInput(
                    f"no rate into {target_currency.upper()} was given for {', '.join(missing)}: add them to rates, "
                    'e.g. {"EUR": "1.08"} for 1 EUR = 1.08 of the target',
                    missing=missing,
                )
            target = iso_currency(target_currency).code
            converted = _converted(target, parsed, labels, rows)
            conversion = (
                "each currency's amounts converted exactly at the given rates ("
                + ", ".join(f"1 {c} = {rates_text(parsed[c])} {target}" for c in sorted(codes))
                + f"), added, then rounded half to even to the {target} minor unit once per figure"
            )
        return r.RevenueReport(
            q.range.first.isoformat(),
            q.range.last.isoformat(),
            q.time_zone,
            granularity.value,
            currencies,
            converted,
            conversion,
            REVENUE_DEFINITIONS,
        )

    @staticmethod
    def _rates(target: str | None, rates: Mapping[str, str] | None) -> dict[str, Fraction]:
        if target is None:
            if rates:
                raise InvalidInput("rates were given without target_currency: name the currency to convert into")
            return {}
        return metrics.parse_rates(target, rates or {})

    async def success_rates(self, uow: UnitOfWork, q: Question, top: int) -> r.SuccessReport:
        repo = uow.repo(ANALYTICS)
        groups = await repo.attempts(q.window)
        outcomes = await repo.outcomes(q.window)
        declines: dict[str, int] = defaultdict(int)
        for g in groups:
            if g.outcome == "declined":
                declines[g.decline_code or "card_declined"] += g.count
        total_declined = sum(declines.values())
        ranked = sorted(declines.items(), key=lambda item: (-item[1], item[0]))[:top]
        return r.SuccessReport(
            q.range.first.isoformat(),
            q.range.last.isoformat(),
            q.time_zone,
            _authorizations("all", ((g.outcome, g.count) for g in groups)),
            sum(g.count for g in groups if g.outcome == "requires_action"),
            [r.DeclineCode(code, n, metrics.ratio(n, total_declined)) for code, n in ranked],
            _breakdown(groups, lambda g: g.brand),
            _breakdown(groups, lambda g: g.currency),
            [
                r.RefundsAndDisputes(
                    o.currency,
                    o.succeeded,
                    o.refunded_payments,
                    metrics.ratio(o.refunded_payments, o.succeeded),
                    metrics.money_text(o.refunded, o.currency),
                    metrics.money_text(o.received, o.currency),
                    metrics.ratio(o.refunded, o.received),
                    o.disputed_payments,
                    metrics.ratio(o.disputed_payments, o.succeeded),
                )
                for o in sorted(outcomes, key=lambda o: o.currency)
            ],
            SUCCESS_DEFINITIONS,
        )

    async def customers(self, uow: UnitOfWork, q: Question, top: int) -> r.CustomerReport:
        repo = uow.repo(ANALYTICS)
        totals = await repo.customer_totals(q.window, top)
        counts = totals.counts
        months = q.range.buckets(Granularity.MONTH)
        cells = await repo.cohorts(months, q.currency)
        grid: dict[int, dict[int, int]] = defaultdict(dict)
        for cell in cells:
            grid[cell.cohort][cell.month] = cell.customers
        cohorts = []
        retained = base = 0
        for index in sorted(grid):
            size = grid[index].get(index, 0)
            shares = [metrics.ratio(grid[index].get(m, 0), size) for m in range(index, len(months))]
            cohorts.append(r.Cohort(months[index].label, size, shares))
            if index + 1 < len(months):
                retained += grid[index].get(index + 1, 0)
                base += size
        churn = None if base == 0 else 1 - Fraction(retained, base)
        months_in_range = Fraction(q.range.days) / Fraction("30.4375")
        by_currency = []
        for c in sorted(totals.currencies, key=lambda c: c.currency):
            arpa = Fraction(c.net, c.customers) if c.customers else None
            monthly = arpa / months_in_range if arpa is not None else None
            ltv = monthly / churn if monthly is not None and churn else None
            by_currency.append(
                r.CurrencyCustomers(
                    c.currency,
                    metrics.money_text(c.net, c.currency),
                    c.customers,
                    _money(arpa, c.currency),
                    _money(monthly, c.currency),
                    _money(ltv, c.currency),
                )
            )
        top_customers = [
            r.TopCustomer(t.customer_id, t.currency, metrics.money_text(t.net, t.currency), t.payments)
            for t in totals.top
        ]
        return r.CustomerReport(
            q.range.first.isoformat(),
            q.range.last.isoformat(),
            q.time_zone,
            counts.active,
            counts.new,
            counts.returning,
            top_customers,
            by_currency,
            cohorts,
            metrics.fraction_text(churn),
            LTV_FORMULA,
            CUSTOMER_DEFINITIONS,
        )

    async def subscriptions(self, uow: UnitOfWork, q: Question) -> r.SubscriptionReport:
        repo: AnalyticsRepository = uow.repo(ANALYTICS)
        per: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
        subs: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for g in await repo.mrr(q.window):
            for name in ("start", "end", "new", "expansion", "contraction", "churn", "reactivation"):
                per[g.currency][name] += metrics.monthly(getattr(g, name), g.interval, g.interval_count)
            counts = subs[g.currency]
            counts[0] += g.subscriptions_start
            counts[1] += g.subscriptions_end
            counts[2] += g.churned
        if q.currency is not None:
            per.setdefault(q.currency, defaultdict(Fraction))  # the asked currency is listed, even with nothing in it
        currencies = [_mrr(code, per[code], subs[code]) for code in sorted(per)]
        trials = await repo.trials(q.window)
        return r.SubscriptionReport(
            q.range.first.isoformat(),
            q.range.last.isoformat(),
            q.time_zone,
            currencies,
            trials.ended,
            trials.converted,
            metrics.ratio(trials.converted, trials.ended),
            metrics.MONTHLY_RULE,
            SUBSCRIPTION_DEFINITIONS,
        )

    async def forecast(
        self,
        uow: UnitOfWork,
        q: Question,
        granularity: Granularity,
        horizon: int,
        method: str,
        season_length: int | None,
    ) -> r.ForecastReport:
        if not 1 <= horizon <= MAX_HORIZON:
            raise InvalidInput(f"horizon {horizon} must be between 1 and {MAX_HORIZON} periods ahead", horizon=horizon)
        report = await self.revenue(uow, q, granularity)
        if q.currency is None:
            found = [c.currency for c in report.currencies]
            if len(found) != 1:
                raise InvalidInput(
                    "give currency: forecasts are per currency, and the range has "
                    + (f"revenue in {', '.join(found)}" if found else "no revenue at all"),
                    currencies=found,
                )
            code = found[0]
        else:
            code = q.currency
        [revenue] = [c for c in report.currencies if c.currency == code]
        exponent = iso_currency(code).exponent
        history = [float(_minor(p.net, exponent)) for p in revenue.periods]
        future = _future_labels(q.range.last, granularity, horizon)
        m = season_length or SEASONS[granularity]
        if method == "linear":
            result = forecast.linear(history, horizon)
            backtest = _backtest(history, min(horizon, max(1, len(history) // 4)), forecast.linear)
            season = None
        else:
            result = forecast.fit_holt_winters(history, m, horizon)
            held = min(horizon, m)
            backtest = (
                _backtest(history, held, lambda h, k: forecast.fit_holt_winters(h, m, k))
                if len(history) - held >= 2 * m
                else None
            )
            season = m

        def text(value: float) -> str:
            return _float_money(value, exponent)

        return r.ForecastReport(
            code,
            granularity.value,
            q.time_zone,
            method,
            season,
            [r.Point(p.period, p.net) for p in revenue.periods],
            [
                r.Point(label, text(v), text(lo), text(hi))
                for label, v, lo, hi in zip(future, result.values, result.lower, result.upper, strict=True)
            ],
            {k: f"{v:.6g}" for k, v in result.parameters.items()},
            backtest and _backtest_report(backtest, exponent),
            "The series is net revenue per period (get_revenue_summary). linear: least squares on the period "
            "number; holt_winters: additive level, trend and season, smoothing parameters chosen from a grid by "
            "one-step squared error. lower/upper: a 95 % prediction interval. backtest: the last periods held "
            "out, forecast from the rest, and compared. Forecasts are estimates, rounded to the minor unit.",
            [] if backtest else ["no backtest: holding out a season would leave less than two seasons to fit"],
        )


def rates_text(rate: Fraction) -> str:
    return str(Decimal(rate.numerator) / Decimal(rate.denominator))


def _minor(text: str, exponent: int) -> int:
    negative = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    value: int = int(whole) * 10**exponent + (int(frac) if frac else 0)
    return -value if negative else value


def _float_money(value: float, exponent: int) -> str:
    return format_minor(round(value), exponent)


def _money(value: Fraction | None, code: str) -> str | None:
    return None if value is None else metrics.money_text(value, code)


def _sum(rows: Iterable[Sums], currency: str) -> dict[int, Sums]:
    return {s.bucket: s for s in rows if s.currency == currency}


def _line(label: str, gross: Sums | None, refunds: Sums | None, disputes: Sums | None, code: str) -> r.RevenueLine:
    g = gross.amount if gross else 0
    f = gross.fees if gross else 0
    rf = refunds.amount if refunds else 0
    d = disputes.amount if disputes else 0
    return r.RevenueLine(
        label,
        metrics.money_text(g, code),
        gross.count if gross else 0,
        metrics.money_text(rf, code),
        refunds.count if refunds else 0,
        metrics.money_text(d, code),
        disputes.count if disputes else 0,
        metrics.money_text(f, code),
        metrics.money_text(g - rf - d - f, code),
    )


def _total(code: str, found: Mapping[str, Iterable[Sums]]) -> dict[str, Sums]:
    return {
        name: Sums(
            -1,
            code,
            sum(s.amount for s in rows if s.currency == code),
            sum(s.count for s in rows if s.currency == code),
            sum(s.fees for s in rows if s.currency == code),
        )
        for name, rows in found.items()
    }


def _revenue_of(code: str, labels: list[str], rows: Mapping[str, list[Sums]]) -> r.CurrencyRevenue:
    gross, refunds, disputes = (_sum(rows[name], code) for name in ("gross", "refunds", "disputes"))
    periods = [_line(label, gross.get(i), refunds.get(i), disputes.get(i), code) for i, label in enumerate(labels)]
    total = _total(code, rows)
    return r.CurrencyRevenue(code, _line("total", total["gross"], total["refunds"], total["disputes"], code), periods)


def _converted(
    target: str, rates: Mapping[str, Fraction], labels: list[str], rows: Mapping[str, list[Sums]]
) -> r.CurrencyRevenue:
    def exact(found: Iterable[Sums], bucket: int | None, field: str) -> Fraction:
        return sum(
            (
                metrics.convert_minor(getattr(s, field), s.currency, target, rates[s.currency])
                for s in found
                if bucket is None or s.bucket == bucket
            ),
            Fraction(0),
        )

    def line(label: str, bucket: int | None) -> r.RevenueLine:
        g = exact(rows["gross"], bucket, "amount")
        f = exact(rows["gross"], bucket, "fees")
        rf = exact(rows["refunds"], bucket, "amount")
        d = exact(rows["disputes"], bucket, "amount")

        def count(name: str) -> int:
            return sum(s.count for s in rows[name] if bucket is None or s.bucket == bucket)

        return r.RevenueLine(
            label,
            metrics.money_text(g, target),
            count("gross"),
            metrics.money_text(rf, target),
            count("refunds"),
            metrics.money_text(d, target),
            count("disputes"),
            metrics.money_text(f, target),
            metrics.money_text(g - rf - d - f, target),
        )

    return r.CurrencyRevenue(target, line("total", None), [line(label, i) for i, label in enumerate(labels)])


def _authorizations(key: str, outcomes: Iterable[tuple[str, int]]) -> r.Authorizations:
    approved = declined = 0
    for outcome, count in outcomes:
        if outcome == "approved":
            approved += count
        elif outcome == "declined":
            declined += count
    return r.Authorizations(key, approved, declined, metrics.ratio(approved, approved + declined))


def _breakdown(groups: Iterable[object], key: object) -> list[r.Authorizations]:
    by: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for g in groups:
        by[key(g)].append((g.outcome, g.count))  # type: ignore[operator, attr-defined]
    return [_authorizations(k, v) for k, v in sorted(by.items())]


def _mrr(code: str, values: Mapping[str, Fraction], counts: list[int]) -> r.CurrencyMrr:
    start, end = values["start"], values["end"]
    moved = start + values["new"] + values["expansion"] + values["reactivation"] - values["contraction"]
    moved -= values["churn"]

    def money(name: str) -> str:
        return metrics.money_text(values[name], code)

    retention = (start - values["contraction"] - values["churn"]) / start if start else None
    net = (start + values["expansion"] - values["contraction"] - values["churn"]) / start if start else None
    return r.CurrencyMrr(
        code,
        money("start"),
        money("new"),
        money("expansion"),
        money("reactivation"),
        money("contraction"),
        money("churn"),
        money("end"),
        metrics.money_text(12 * end, code),
        moved == end,
        counts[0],
        counts[1],
        counts[2],
        metrics.ratio(counts[2], counts[0]),
        metrics.fraction_text(retention),
        metrics.fraction_text(net),
    )


def _future_labels(last: date, granularity: Granularity, horizon: int) -> list[str]:
    labels = []
    day = next_start(last, granularity)
    for _ in range(horizon):
        labels.append(day.strftime("%Y-%m") if granularity is Granularity.MONTH else day.isoformat())
        day = next_start(day, granularity)
    return labels


def _backtest(
    history: list[float], held: int, fit: Callable[[list[float], int], forecast.Forecast]
) -> tuple[int, float, float | None] | None:
    train, actual = history[:-held], history[-held:]
    if len(train) < 3:
        return None
    predicted = fit(train, held).values
    errors = [abs(a - p) for a, p in zip(actual, predicted, strict=True)]
    mae = sum(errors) / held
    nonzero = [(e, abs(a)) for e, a in zip(errors, actual, strict=True) if a]
    mape = sum(e / a for e, a in nonzero) / len(nonzero) if nonzero else None
    return held, mae, mape


def _backtest_report(found: tuple[int, float, float | None], exponent: int) -> r.Backtest:
    held, mae, mape = found
    return r.Backtest(held, _float_money(mae, exponent), None if mape is None else f"{mape:.4f}")
