"""Settings from the environment: FX rates, and the Host and Origin allow-lists of the HTTP transports."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from mcp_payments.config import (
    Settings,
    parse_allowed_hosts,
    parse_allowed_origins,
    parse_duration,
    parse_fx_rates,
)


def test_fx_rates_are_read_as_exact_decimals_by_pair() -> None:
    assert parse_fx_rates("eur/usd=1.08, USD/JPY=150") == {"EUR/USD": Decimal("1.08"), "USD/JPY": Decimal("150")}


@pytest.mark.parametrize("text", ["EUR/USD=0", "EUR/USD=-1", "EUR/USD=NaN", "EUR/USD=Infinity", "EURUSD=1.08"])
def test_an_fx_rate_that_is_not_a_positive_number_for_a_pair_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not like EUR/USD=1\.08"):
        parse_fx_rates(text)


def test_fx_rates_whose_round_trip_would_pay_are_refused() -> None:
    with pytest.raises(ValueError, match="contradict"):
        parse_fx_rates("EUR/USD=1.10,USD/EUR=0.95")


def test_allowed_hosts_and_origins_come_from_the_environment_comma_separated_and_lower_cased() -> None:
    settings = Settings.from_env(
        {
            "MCP_PAYMENTS_ALLOWED_HOSTS": "Payments.Example.com, payments.example.com:8443,10.0.0.5:*,[::1]:8000",
            "MCP_PAYMENTS_ALLOWED_ORIGINS": "https://App.example.com,http://localhost:*",
        }
    )
    assert settings.allowed_hosts == ("payments.example.com", "payments.example.com:8443", "10.0.0.5:*", "[::1]:8000")
    assert settings.allowed_origins == ("https://app.example.com", "http://localhost:*")


def test_unset_or_empty_allow_lists_add_nothing() -> None:
    assert Settings.from_env({}).allowed_hosts == ()
    settings = Settings.from_env({"MCP_PAYMENTS_ALLOWED_HOSTS": "", "MCP_PAYMENTS_ALLOWED_ORIGINS": ""})
    assert (settings.allowed_hosts, settings.allowed_origins) == ((), ())


def test_a_flag_replaces_the_environment_s_allow_list() -> None:
    settings = Settings.from_env({"MCP_PAYMENTS_ALLOWED_HOSTS": "a.example"}, allowed_hosts=("b.example",))
    assert settings.allowed_hosts == ("b.example",)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("http://payments.example.com", "a host, not a URL"),
        ("payments.example.com/mcp", "is not a name or address"),
        ("::1", "an IPv6 address goes in brackets"),
        ("[::g]:8000", "is not a name or address"),
        ("payments.example.com:0", "is not a name or address"),
        ("payments.example.com:65536", "is not a name or address"),
        ("payments.example.com:http", "is not a name or address"),
        ("*.example.com", "is not a name or address"),
        ("-payments.example.com", "is not a name or address"),
        ("999.1.1.1", "is not a name or address"),
        ("a.example,,b.example", "have an empty entry"),
        ("a.example,", "have an empty entry"),
        ("pay ments.example.com", "is not a name or address"),
    ],
)
def test_a_malformed_allowed_host_is_refused_with_what_is_expected(text: str, phrase: str) -> None:
    with pytest.raises(ValueError, match="allowed host") as error:
        Settings.from_env({"MCP_PAYMENTS_ALLOWED_HOSTS": text})
    assert phrase in str(error.value)


@pytest.mark.parametrize(
    "text",
    [
        "app.example.com",
        "ftp://app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://",
        "null",
        "https://app.example.com:99999",
    ],
)
def test_a_malformed_allowed_origin_is_refused_with_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"allowed origin .* is not http\(s\)://host"):
        parse_allowed_origins(text)


def test_the_accepted_forms_of_a_host() -> None:
    accepted = "localhost,localhost:8000,127.0.0.2:*,payments-1.internal,mcp_payments:8000,[fe80::1]:443"
    assert parse_allowed_hosts(accepted) == tuple(accepted.split(","))


def test_background_jobs_take_their_interval_and_retries_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "MCP_PAYMENTS_JOB_INTERVAL_SECONDS": "0.5",
            "MCP_PAYMENTS_JOB_MAX_ATTEMPTS": "4",
            "MCP_PAYMENTS_JOB_RETRY_SECONDS": "10",
            "MCP_PAYMENTS_JOB_RETRY_MAX_SECONDS": "600",
        }
    )

    assert settings.sweep_interval == 0.5
    assert (settings.job_max_attempts, settings.job_retry_base, settings.job_retry_cap) == (
        4,
        timedelta(seconds=10),
        timedelta(minutes=10),
    )
    assert Settings.from_env({"MCP_PAYMENTS_JOB_INTERVAL_SECONDS": "30"}, sweep_interval=2.0).sweep_interval == 2.0


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        ({"MCP_PAYMENTS_JOB_INTERVAL_SECONDS": "soon"}, "is not a number of seconds"),
        ({"MCP_PAYMENTS_JOB_INTERVAL_SECONDS": "0"}, "must be a positive number of seconds"),
        ({"MCP_PAYMENTS_JOB_INTERVAL_SECONDS": "inf"}, "must be a positive number of seconds"),
        ({"MCP_PAYMENTS_JOB_MAX_ATTEMPTS": "0"}, "must be a whole number of at least 1"),
        ({"MCP_PAYMENTS_JOB_MAX_ATTEMPTS": "2.5"}, "must be a whole number of at least 1"),
        ({"MCP_PAYMENTS_JOB_RETRY_SECONDS": "120", "MCP_PAYMENTS_JOB_RETRY_MAX_SECONDS": "60"}, "job retries need"),
    ],
)
def test_background_job_settings_that_cannot_work_are_refused(env: dict[str, str], phrase: str) -> None:
    with pytest.raises(ValueError, match=r"MCP_PAYMENTS_JOB|job retries") as error:
        Settings.from_env(env)
    assert phrase in str(error.value)


def test_caller_settings_come_from_the_environment_and_the_api_key_stays_out_of_the_repr() -> None:
    settings = Settings.from_env(
        {
            "MCP_PAYMENTS_API_KEY": " mcpp_key_secret ",
            "MCP_PAYMENTS_NO_AUTH": "true",
            "MCP_PAYMENTS_RESOURCE_URL": "https://payments.example.com/mcp",
            "MCP_PAYMENTS_JWT_ISSUER": "https://auth.example.com/",
            "MCP_PAYMENTS_JWKS": "http://127.0.0.1:9000/jwks.json",
            "MCP_PAYMENTS_JWT_AUDIENCE": "payments",
            "MCP_PAYMENTS_JWT_ROLE_CLAIM": "realm_access.roles",
        }
    )
    assert settings.api_key == "mcpp_key_secret"
    assert "mcpp_key_secret" not in repr(settings)
    assert settings.no_auth
    assert settings.resource_url == "https://payments.example.com/mcp"
    assert settings.jwt_issuer == "https://auth.example.com/"  # kept exactly: issuers are compared as strings
    assert (settings.jwks, settings.jwt_audience, settings.jwt_role_claim) == (
        "http://127.0.0.1:9000/jwks.json",
        "payments",
        "realm_access.roles",
    )
    assert Settings.from_env(
        {"MCP_PAYMENTS_JWT_ISSUER": "https://a.example", "MCP_PAYMENTS_JWKS": "keys.json"}
    ).jwks == ("keys.json")


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"MCP_PAYMENTS_JWT_ISSUER": "https://a.example"}, "need both"),
        ({"MCP_PAYMENTS_JWT_ISSUER": "https://a.example", "MCP_PAYMENTS_JWKS": "http://a.example/k"}, "plain http"),
        ({"MCP_PAYMENTS_RESOURCE_URL": "payments.example.com/mcp"}, "not an http"),
        ({"MCP_PAYMENTS_JWT_ISSUER": "ftp://a.example", "MCP_PAYMENTS_JWKS": "k.json"}, "not an http"),
    ],
)
def test_incomplete_or_unsafe_jwt_settings_are_refused(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        (" 30m ", timedelta(minutes=30)),
        ("2W", timedelta(weeks=2)),
    ],
)
def test_a_key_lifetime_is_a_number_and_a_unit(text: str, lifetime: timedelta) -> None:
    assert parse_duration(text) == lifetime


@pytest.mark.parametrize("text", ["", "0d", "90", "d", "1.5h", "-1d", "1y", "9999999d"])
def test_a_lifetime_that_is_not_a_positive_number_and_unit_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a positive number with a unit"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["true", "1", "yes", "y", "on", "enabled", "enable", " TRUE ", "On", "Yes"])
def test_read_only_takes_every_usual_spelling_of_yes(text: str) -> None:
    assert Settings.from_env({"MCP_PAYMENTS_READ_ONLY": text}).read_only
    assert Settings.from_env({"MCP_PAYMENTS_NO_AUTH": text}).no_auth


@pytest.mark.parametrize("text", ["false", "0", "no", "n", "off", "disabled", "disable", "False", " OFF "])
def test_read_only_takes_every_usual_spelling_of_no(text: str) -> None:
    assert not Settings.from_env({"MCP_PAYMENTS_READ_ONLY": text}).read_only
    assert not Settings.from_env({"MCP_PAYMENTS_NO_AUTH": text}).no_auth


@pytest.mark.parametrize("name", ["MCP_PAYMENTS_READ_ONLY", "MCP_PAYMENTS_NO_AUTH"])
@pytest.mark.parametrize("text", ["ture", "2", "yes please", "read-only", "t", "si", "nope", "-1"])
def test_a_yes_no_setting_that_is_neither_is_refused_naming_it_and_what_it_takes(name: str, text: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: ") as error:
        Settings.from_env({name: text})
    assert repr(text) in str(error.value)
    assert "use true or false" in str(error.value)


def test_an_empty_setting_counts_as_unset() -> None:
    settings = Settings.from_env({"MCP_PAYMENTS_READ_ONLY": "", "MCP_PAYMENTS_LOG_LEVEL": " ", "MCP_PAYMENTS_FEES": ""})
    assert (settings.read_only, settings.log_level, settings.fee_percent_bp) == (False, "INFO", 290)


@pytest.mark.parametrize(
    ("text", "level"), [("debug", "DEBUG"), ("Info", "INFO"), ("warn", "WARNING"), ("ERROR", "ERROR")]
)
def test_the_log_level_takes_the_level_names_in_any_case(text: str, level: str) -> None:
    assert Settings.from_env({"MCP_PAYMENTS_LOG_LEVEL": text}).log_level == level


@pytest.mark.parametrize("text", ["bogus", "verbose", "10", "trace"])
def test_an_unknown_log_level_is_refused_with_the_levels_there_are(text: str) -> None:
    with pytest.raises(ValueError, match=r"^MCP_PAYMENTS_LOG_LEVEL: .* is not a log level: use one of DEBUG, INFO"):
        Settings.from_env({"MCP_PAYMENTS_LOG_LEVEL": text})
    with pytest.raises(ValueError, match="is not one of DEBUG"):
        Settings(log_level=text)


@pytest.mark.parametrize(
    ("name", "text", "phrase"),
    [
        ("MCP_PAYMENTS_DEDUP_WINDOW_SECONDS", "a minute", "is not a number of seconds"),
        ("MCP_PAYMENTS_DEDUP_WINDOW_SECONDS", "-1", "must be 0 or more seconds, at most a year"),
        ("MCP_PAYMENTS_DEDUP_WINDOW_SECONDS", "nan", "must be 0 or more seconds"),
        ("MCP_PAYMENTS_AUTHORIZATION_DAYS", "seven", "is not a number of days"),
        ("MCP_PAYMENTS_AUTHORIZATION_DAYS", "0", "must be a positive number of days"),
        ("MCP_PAYMENTS_AUTHORIZATION_DAYS", "1e12", "at most a year"),
        ("MCP_PAYMENTS_JOB_RETRY_SECONDS", "1e300", "at most a year"),
        ("MCP_PAYMENTS_JOB_INTERVAL_SECONDS", "1e300", "at most a year"),
        ("MCP_PAYMENTS_FEES", "2.9%+x", "are not like 2.9%+30"),
        ("MCP_PAYMENTS_FX_RATES", "EUR/USD", "is not like EUR/USD=1.08"),
        ("MCP_PAYMENTS_TOOLSETS", ", ,", "name none"),
        ("MCP_PAYMENTS_ALLOWED_HOSTS", "a b", "is not a name or address"),
        ("MCP_PAYMENTS_RESOURCE_URL", "payments", "is not an http(s) URL"),
        ("MCP_PAYMENTS_SCREENING_RETENTION_DAYS", "a year", "is not a whole number of days"),
        ("MCP_PAYMENTS_SCREENING_RETENTION_DAYS", "0", "a retention window is 1 to 3660 days"),
        ("MCP_PAYMENTS_SPEND_RECORD_RETENTION_DAYS", "31", "a retention window is 32 to 3660 days"),
        ("MCP_PAYMENTS_WEBHOOK_DELIVERY_RETENTION_DAYS", "1.5", "is not a whole number of days"),
        ("MCP_PAYMENTS_WEBHOOK_DELIVERY_RETENTION_DAYS", "99999", "a retention window is 1 to 3660 days"),
    ],
)
def test_every_setting_that_cannot_be_read_is_refused_naming_it(name: str, text: str, phrase: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}") as error:
        Settings.from_env({name: text})
    assert phrase in str(error.value)
    assert "\n" not in str(error.value)


def test_zero_dedup_window_is_allowed() -> None:
    assert Settings.from_env({"MCP_PAYMENTS_DEDUP_WINDOW_SECONDS": "0"}).dedup_window == timedelta(0)
    assert Settings.from_env({"MCP_PAYMENTS_AUTHORIZATION_DAYS": "2.5"}).authorization_ttl == timedelta(days=2.5)


def test_the_dunning_schedule_and_final_state_are_settings_with_stripe_like_defaults() -> None:
    default = Settings.from_env({}).dunning()
    assert [d.days for d in default.retries] == [1, 2, 3, 5, 7, 10, 14]  # with the first try: 8 within 2 weeks
    assert default.cancel_after_last
    custom = Settings.from_env(
        {"MCP_PAYMENTS_DUNNING_RETRY_DAYS": "0.5, 2", "MCP_PAYMENTS_DUNNING_FINAL": "Unpaid"}
    ).dunning()
    assert (custom.retries, custom.cancel_after_last) == ((timedelta(hours=12), timedelta(days=2)), False)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("MCP_PAYMENTS_DUNNING_RETRY_DAYS", "3,1"),
        ("MCP_PAYMENTS_DUNNING_RETRY_DAYS", "1,1"),
        ("MCP_PAYMENTS_DUNNING_RETRY_DAYS", "0"),
        ("MCP_PAYMENTS_DUNNING_RETRY_DAYS", "nan"),
        ("MCP_PAYMENTS_DUNNING_RETRY_DAYS", "400"),
        ("MCP_PAYMENTS_DUNNING_RETRY_DAYS", ",".join(str(d) for d in range(1, 30))),
        ("MCP_PAYMENTS_DUNNING_RETRY_DAYS", "one,two"),
        ("MCP_PAYMENTS_DUNNING_FINAL", "delete"),
    ],
)
def test_a_dunning_setting_that_cannot_be_read_is_refused_naming_the_variable(name: str, text: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: text})


def test_fraud_scoring_thresholds_and_amounts_come_from_the_environment_as_exact_values() -> None:
    env = {
        "MCP_PAYMENTS_RISK_REVIEW_SCORE": "40",
        "MCP_PAYMENTS_RISK_BLOCK_SCORE": "90",
        "MCP_PAYMENTS_RISK_WINDOW": "30m",
        "MCP_PAYMENTS_RISK_SMALL_AMOUNT": "2.50",
        "MCP_PAYMENTS_RISK_LARGE_AMOUNT": "250",
    }
    rules = Settings.from_env(env).risk_rules()

    assert (rules.review, rules.block, rules.window) == (40, 90, timedelta(minutes=30))
    assert (rules.small, rules.large) == (Decimal("2.50"), Decimal(250))


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        ({"MCP_PAYMENTS_RISK_REVIEW_SCORE": "0"}, "MCP_PAYMENTS_RISK_REVIEW_SCORE: '0' is not a whole number"),
        ({"MCP_PAYMENTS_RISK_BLOCK_SCORE": "101"}, "between 1 and 100"),
        ({"MCP_PAYMENTS_RISK_BLOCK_SCORE": "80.5"}, "between 1 and 100"),
        ({"MCP_PAYMENTS_RISK_REVIEW_SCORE": "90", "MCP_PAYMENTS_RISK_BLOCK_SCORE": "80"}, "fraud scoring needs 1 <= "),
        ({"MCP_PAYMENTS_RISK_SMALL_AMOUNT": "0"}, "is not a positive amount"),
        ({"MCP_PAYMENTS_RISK_LARGE_AMOUNT": "1e3"}, "is not a positive amount"),
        ({"MCP_PAYMENTS_RISK_WINDOW": "soon"}, "MCP_PAYMENTS_RISK_WINDOW"),
    ],
)
def test_fraud_scoring_settings_that_cannot_work_are_refused(env: dict[str, str], phrase: str) -> None:
    with pytest.raises(ValueError, match=re.escape(phrase)):
        Settings.from_env(env)


def test_retention_windows_are_settings_in_days() -> None:
    defaults = Settings()
    assert (defaults.screening_retention, defaults.spend_record_retention, defaults.webhook_delivery_retention) == (
        timedelta(days=365),
        timedelta(days=400),
        timedelta(days=30),
    )
    env = {
        "MCP_PAYMENTS_SCREENING_RETENTION_DAYS": "730",
        "MCP_PAYMENTS_SPEND_RECORD_RETENTION_DAYS": "32",
        "MCP_PAYMENTS_WEBHOOK_DELIVERY_RETENTION_DAYS": "7",
    }
    read = Settings.from_env(env)
    assert (read.screening_retention, read.spend_record_retention, read.webhook_delivery_retention) == (
        timedelta(days=730),
        timedelta(days=32),
        timedelta(days=7),
    )


@pytest.mark.parametrize(("text", "mode"), [("elicit", "elicit"), ("QUEUE", "queue"), (" queue ", "queue")])
def test_the_approval_mode_is_elicit_or_queue(text: str, mode: str) -> None:
    assert Settings.from_env({"MCP_PAYMENTS_APPROVAL_MODE": text}).approval_mode == mode


def test_the_approval_mode_asks_in_the_chat_by_default() -> None:
    assert Settings.from_env({}).approval_mode == "elicit"


@pytest.mark.parametrize("text", ["ask", "none", "elicitation", "queued"])
def test_an_approval_mode_that_is_neither_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(ValueError, match="MCP_PAYMENTS_APPROVAL_MODE") as refused:
        Settings.from_env({"MCP_PAYMENTS_APPROVAL_MODE": text})
    assert "use elicit or queue" in str(refused.value)
