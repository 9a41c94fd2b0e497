"""Provider-event signatures: `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`, several v1 while rotating."""

import hashlib
import hmac

import pytest

from mcp_payments.domain import signatures
from mcp_payments.domain.errors import InvalidSignature

BODY = b'{"id":"evt_1","type":"charge.dispute.created","data":{}}'
NOW = 1_764_500_000


def test_a_signature_is_the_hex_hmac_of_the_timestamp_a_dot_and_the_body() -> None:
    expected = hmac.new(b"whsec_a", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert signatures.sign("whsec_a", NOW, BODY) == expected
    assert signatures.header(["whsec_a"], NOW, BODY) == f"t={NOW},v1={expected}"


def test_a_valid_header_gives_back_its_timestamp() -> None:
    assert signatures.verify(signatures.header(["whsec_a"], NOW, BODY), BODY, ["whsec_a"], NOW) == NOW


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_a_timestamp_within_the_tolerance_either_way_is_accepted(offset: int) -> None:
    header = signatures.header(["whsec_a"], NOW + offset, BODY)

    assert signatures.verify(header, BODY, ["whsec_a"], NOW) == NOW + offset


@pytest.mark.parametrize("offset", [-301, 301, -(10**9)])
def test_a_stale_or_future_timestamp_is_refused(offset: int) -> None:
    header = signatures.header(["whsec_a"], NOW + offset, BODY)

    with pytest.raises(InvalidSignature, match="more than 300 s from now"):
        signatures.verify(header, BODY, ["whsec_a"], NOW)


def test_any_of_several_signatures_may_match_any_of_several_secrets_while_rotating() -> None:
    header = signatures.header(["whsec_old", "whsec_new"], NOW, BODY)

    assert signatures.verify(header, BODY, ["whsec_new"], NOW) == NOW
    assert signatures.verify(header, BODY, ["whsec_other", "whsec_old"], NOW) == NOW


def test_an_altered_body_or_another_secret_is_refused() -> None:
    header = signatures.header(["whsec_a"], NOW, BODY)

    with pytest.raises(InvalidSignature, match="no v1 signature matches"):
        signatures.verify(header, BODY + b" ", ["whsec_a"], NOW)
    with pytest.raises(InvalidSignature, match="no v1 signature matches"):
        signatures.verify(header, BODY, ["whsec_b"], NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"t={NOW}",  # no signature
        "v1=abc",  # no timestamp
        f"t=-{NOW},v1=abc",
        "t=1e9,v1=abc",
        "t=\u00b2,v1=abc",  # a superscript two is a digit to str.isdigit, not to int()
        "t=\uff11\uff12,v1=abc",  # full-width digits
        f"t={'9' * 13},v1=abc",  # longer than any timestamp
    ],
)
def test_a_malformed_header_is_refused_with_its_expected_shape(header: str) -> None:
    with pytest.raises(InvalidSignature, match="must look like t=<unix seconds>,v1=<hex hmac>"):
        signatures.verify(header, BODY, ["whsec_a"], NOW)


def test_spaces_around_the_parts_are_tolerated() -> None:
    signature = signatures.sign("whsec_a", NOW, BODY)

    assert signatures.verify(f" t={NOW} , v1={signature} ", BODY, ["whsec_a"], NOW) == NOW
