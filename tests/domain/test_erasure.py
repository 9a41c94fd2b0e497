"""The pure part of erasure: the pseudonym, the terms searched for, and rewriting text and JSON documents."""

import json

from mcp_payments.domain.erasure import Personal, pseudonym, rewrite_document

TERMS = Personal("Zoë Ashdown", "zoe@example.org", "VIP: Zoë Ashdown").terms()


def test_a_pseudonym_comes_from_the_id_alone_and_is_stable() -> None:
    assert pseudonym("cus_1") == pseudonym("cus_1")
    assert pseudonym("cus_1") != pseudonym("cus_2")
    assert pseudonym("cus_1").startswith("erased-")


def test_the_longest_term_is_rewritten_first_and_short_ones_are_not_searched_for() -> None:
    assert TERMS == ("VIP: Zoë Ashdown", "zoe@example.org", "Zoë Ashdown")
    assert Personal("Al", None, None).terms() == ()


def test_plain_text_is_rewritten_whatever_its_case() -> None:
    assert rewrite_document("rent from ZOË ASHDOWN, thanks", TERMS, "erased-x") == "rent from erased-x, thanks"


def test_a_json_document_is_rewritten_value_by_value_and_keeps_its_keys() -> None:
    document = json.dumps({"customer": {"name": "Zoë Ashdown", "email": "zoe@example.org"}, "n": 1})
    assert json.loads(rewrite_document(document, TERMS, "erased-x")) == {
        "customer": {"name": "erased-x", "email": "erased-x"},
        "n": 1,
    }
    keyed = json.dumps({"Payment": "Payment for order"})
    assert json.loads(rewrite_document(keyed, ("Payment",), "erased-x")) == {"Payment": "erased-x for order"}


def test_a_document_written_with_escaped_non_ascii_is_found_and_rewritten() -> None:
    escaped = json.dumps({"memo": "for Zoë Ashdown"})  # ensure_ascii: Zo\u00eb
    assert "zo\\u00eb ashdown" in Personal("Zoë Ashdown", None, None).search_forms()
    assert json.loads(rewrite_document(escaped, TERMS, "erased-x")) == {"memo": "for erased-x"}


def test_text_that_only_looks_like_json_is_rewritten_as_text() -> None:
    assert rewrite_document("{not json: Zoë Ashdown", TERMS, "erased-x") == "{not json: erased-x"
