"""Background work that categories contribute: a job says how to claim due items and how to handle one.

Due items are found by a query over domain state (`claim`) that locks what it returns and skips rows
another worker holds (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer), so any number of
processes run the same job and each item is handled once. The runner (services/job_runner.py) claims
and handles each item in its own transaction, with its audit record under the system principal; an
item whose handling fails is retried with backoff and parked after a number of attempts.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from mcp_payments.domain.cards import long_digit_runs, mask_card_numbers
from mcp_payments.domain.errors import DomainError
from mcp_payments.domain.ledger import JournalTransaction
from mcp_payments.services.ports import Claim, UnitOfWork

T = TypeVar("T")


class MovedInBackground(Protocol):
    """Sees what one item of background work posted, in its transaction, before it commits (the AML rules on a
    subscription renewal's charge, services/aml.py): `changed` is what the item's handler said it changed."""

    async def background(
        self, uow: UnitOfWork, job: str, changed: Sequence[str], posted: Sequence[JournalTransaction]
    ) -> None: ...


MAX_ERROR = 500  # characters of an error kept in the database
# `scheme://user:password@`, and `password=...`-like pairs, in an error's text.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_SECRET_PAIR = re.compile(r"((?:password|secret|token|key)\w*\s*[=:]\s*)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Job(Generic[T]):
    """A kind of due work.

    `claim` returns due items, locked, leaving out what the Claim leaves out (adapters/db/jobs_repo.py
    `claimable`); `handle` handles one item in the same unit of work and returns the ids of the entities it
    changed (its audit record names them), or None when the item is not ready yet: it stays due, and the
    next pass tries it again. `item_id` names an item, so that its failures can be kept; `oldest_due` is
    when the oldest item that is due became due (the job's lag), by a query that loads no rows."""

    name: str
    claim: Callable[[UnitOfWork, Claim], Awaitable[Sequence[T]]]
    handle: Callable[[UnitOfWork, T], Awaitable[Sequence[str] | None]]
    item_id: Callable[[T], str]
    oldest_due: Callable[[UnitOfWork, Claim], Awaitable[datetime | None]]
    audited: bool = True  # False for housekeeping that changes no domain state (expired idempotency keys)
    audit_tool: str | None = None  # the `tool` of its audit records; the job's name by default
    # Items claimed and handled per transaction. Audited work still gets one audit record per item; a batch
    # that fails is rolled back whole and its items are then taken one at a time (job_runner.py).
    batch: int = 1
    # Set for work that must follow close behind (sealing the audit log): the job also runs on its own this often
    # in `serve` and `worker`, and a run of it that found nothing to do is not recorded.
    every: timedelta | None = None
    # How much of a claim's limit one item took: the sealer's one item is a batch of up to `limit` records. A run of
    # a frequent job ends at a step that took less than the limit (job_runner.py); None counts each item as one.
    size: Callable[[T], int] | None = None
    # Work that must not run inside a transaction (a network call): given the items a step handled, once that step
    # has committed. What `handle` wrote (a lease) must make the item not due meanwhile; `after` records its own
    # outcome, and a failure of it is logged, the items coming due again when their lease ends.
    after: Callable[[Sequence[T]], Awaitable[None]] | None = None

    @property
    def audited_as(self) -> str:
        return self.audit_tool or self.name


@dataclass(frozen=True, slots=True)
class Retry:
    """When a failing item is tried again: after base, 2 x base, 4 x base ... at most cap apart; parked (no
    more tries) once it has failed max_attempts times."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 10

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("job retries need max_attempts >= 1 and 0 < base <= cap")

    def next_attempt(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failures; None: parked."""
        if attempts >= self.max_attempts:
            return None
        # Doubling stops at the cap before the number gets large (attempts may be set high).
        delay = self.base * (1 << min(attempts - 1, 40))
        return now + min(delay, self.cap)


def describe(error: BaseException, secrets: Iterable[str] = ()) -> tuple[str, str | None]:
    """What is kept and shown of a failure, and the incident id under which an unexpected one is logged.

    A domain error is its code and message: written for people to read. Anything else is only its type: its
    text may hold SQL or values (it goes to the worker's log, under the incident id). Both are masked."""
    if isinstance(error, DomainError):
        return mask(f"{error.code}: {error.message}", secrets), None
    incident = uuid.uuid4().hex[:12]
    return f"{type(error).__name__} (incident {incident}: the details are in the worker's log)", incident


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with no card number, no configured secret, no password and no long number left in it."""
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "[secret]")
    text = _SECRET_PAIR.sub(r"\1[secret]", _URL_PASSWORD.sub(r"\1[secret]@", text))
    out: list[str] = []
    done = 0
    for run in long_digit_runs(text):
        # As the logs do: any run of 13 or more digits, card number or not, keeps only its last four.
        out += (text[done : run.start], "****", run.digits[-4:])
        done = run.end
    return mask_card_numbers("".join(out) + text[done:])[:MAX_ERROR]


AnyJob = Job[Any]
