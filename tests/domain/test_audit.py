import hashlib
import hmac

import pytest

from mcp_payments.domain import audit

pytestmark = pytest.mark.anyio

RECORD = {"seq": 1, "tool": "fund_wallet", "at": "2026-01-01T00:00:00+00:00", "note": "café"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_canonical_json_sorts_keys_at_every_depth_and_has_no_spaces() -> None:
    value = {"b": 1, "a": {"z": [3, {"d": None, "c": True}], "y": "x"}}

    assert audit.canonical_json(value) == '{"a":{"y":"x","z":[3,{"c":true,"d":null}]},"b":1}'


def test_canonical_json_does_not_depend_on_key_order() -> None:
    first = {"amount": "1.00", "currency": "USD", "wallet_id": "wal_1"}
    second = dict(reversed(list(first.items())))

    assert audit.canonical_json(first) == audit.canonical_json(second)
    assert audit.argument_hash(first) == audit.argument_hash(second)


def test_canonical_json_keeps_non_ascii_text_as_utf8() -> None:
    assert audit.canonical_json({"memo": "café ☕"}) == '{"memo":"café ☕"}'


def test_the_argument_hash_is_sha256_of_the_canonical_json() -> None:
    assert audit.argument_hash({"b": 2, "a": 1}) == sha256('{"a":1,"b":2}')


def test_a_keyed_hash_set_up_once_gives_the_hmac_of_each_message_alone() -> None:
    mac = audit.Hmac(b"secret")
    arguments = {"b": 1, "a": "naïve"}

    assert mac.of_arguments(arguments) == audit.keyed_argument_hash(b"secret", arguments)
    assert mac.hex(b"one") == hmac.new(b"secret", b"one", hashlib.sha256).hexdigest()
    assert mac.hex(b"two") == hmac.new(b"secret", b"two", hashlib.sha256).hexdigest(), "no state left by the first"


def test_different_arguments_hash_differently() -> None:
    assert audit.argument_hash({"amount": "1.00"}) != audit.argument_hash({"amount": "1.0"})
    assert audit.argument_hash({"amount": 1}) != audit.argument_hash({"amount": "1"})


def test_the_chain_starts_from_a_genesis_of_64_zeros() -> None:
    assert audit.GENESIS == "0" * 64


def test_a_chain_hash_is_sha256_of_the_previous_hash_then_the_canonical_record() -> None:
    expected = sha256(audit.GENESIS + '{"at":"2026-01-01T00:00:00+00:00","note":"café","seq":1,"tool":"fund_wallet"}')

    assert audit.chain_hash(audit.GENESIS, RECORD) == expected


def test_chain_hashes_stay_the_same_across_releases_so_stored_chains_keep_verifying() -> None:
    # Pinned: a change here breaks every audit chain already stored.
    assert audit.chain_hash(audit.GENESIS, RECORD) == "6c0d33cd4b9bf0632696a9d260553f7c3bee09fcef98fc6b26a0d7098fa90337"
    assert (
        audit.argument_hash({"b": 2, "a": [1, {"y": None, "x": "é"}]})
        == "a7236679b71914bdabc8387a8e10096cde8be5f99949a565b0d6f8cae9fa4400"
    )


def test_changing_one_record_changes_its_hash_and_every_later_one() -> None:
    records = [{"seq": i, "tool": "t"} for i in range(1, 5)]

    def chain(rs: list[dict[str, object]]) -> list[str]:
        hashes, previous = [], audit.GENESIS
        for r in rs:
            previous = audit.chain_hash(previous, r)
            hashes.append(previous)
        return hashes

    original = chain(records)
    tampered = chain([*records[:2], {"seq": 3, "tool": "T"}, records[3]])

    assert tampered[:2] == original[:2]
    assert all(t != o for t, o in zip(tampered[2:], original[2:], strict=True))


def test_a_chain_hash_depends_on_the_previous_hash() -> None:
    assert audit.chain_hash(audit.GENESIS, RECORD) != audit.chain_hash("f" * 64, RECORD)
