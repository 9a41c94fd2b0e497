"""Running a tool call: idempotency, the audit record and contention retries around one unit of work.

Every mutating call runs as one database transaction that holds its effect, its idempotency
record and its audit record, so none of the three can exist without the others. Background work
that changes state (due work, provider events) is audited too, under the system principal. An
audit record binds the journal transactions its unit of work posted (domain/audit.py).

The record is appended unsealed, with no lock shared by other calls: the sealer (services/sealing.py)
links committed records into the hash chain within a second. The caller gets a receipt, the record's
id and the hash of its body, to check later that the record is still there, unchanged.

On PostgreSQL a call makes three round trips, as many as the operation alone in a transaction: BEGIN with the
idempotency claim, the operation's own statement(s) (one for a transfer), the completion with the audit record
and COMMIT (the repository sends its last statement with the COMMIT).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from mcp_payments.domain import audit
from mcp_payments.domain.audit import canonical_json
from mcp_payments.domain.errors import Contention, DomainError, IdempotencyConflict, StoredError
from mcp_payments.domain.ledger import JournalTransaction
from mcp_payments.services.commands import Command, Done, Outcome
from mcp_payments.services.jobs import MovedInBackground
from mcp_payments.services.live import ChangeFeed, changed_uris
from mcp_payments.services.ports import AuditRecord, Clock, Ids, StoredCall, UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")
_CONTENTION_RETRIES = 5
_STORED_ERROR = "__error__"
SYSTEM_PRINCIPAL = "system"  # who background work is recorded as


class CallRunner:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        key_ttl: timedelta = timedelta(hours=24),
        derived_key_window: timedelta = timedelta(seconds=60),
        *,
        key_secret: bytes,
        ids: Ids,
        key_clock: Clock | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        # How long keys are kept is real time, even when the sandbox clock is advanced: a retry after an advance of
        # a year is still a retry (and advance_sandbox_clock's own key must outlive the advance it made).
        self.key_clock = key_clock or clock
        self.ids = ids
        self.key_ttl = key_ttl
        self.derived_key_window = derived_key_window
        self.key_secret = key_secret
        # Keys of their own (derived, so no secret is shared between two uses) for what is stored of a call's
        # arguments as a hash: a plain hash of personal data (create_customer's name and e-mail) could be checked
        # against a guess after an erasure, and hashed audit content can never be rewritten.
        self.audit_key = hmac.new(key_secret, b"audit record arguments", hashlib.sha256).digest()
        self.request_key = hmac.new(key_secret, b"idempotency request", hashlib.sha256).digest()
        self._key_mac, self._audit_mac = audit.Hmac(key_secret), audit.Hmac(self.audit_key)
        self._request_mac = audit.Hmac(self.request_key)
        # Live updates (services/live.py): what each committed write touched is announced to subscribers.
        self.feed: ChangeFeed | None = None
        # What sees the money background work posts, item by item, in its transaction (the AML rules): every path
        # of background work shows it to them here, so that none can forget to (a provider event did).
        self.watchers: list[MovedInBackground] = []
        self._announced: dict[int, list[str]] = {}  # per unit of work (by id) in flight: announced, not yet published

    async def read(self, operation: Callable[[UnitOfWork], Awaitable[T]], *, snapshot: bool = True) -> T:
        """A read. snapshot=False for a read of one statement: it then needs no transaction."""
        async with self.uow(write=False, snapshot=snapshot) as uow:
            return await operation(uow)

    async def write(self, operation: Callable[[UnitOfWork], Awaitable[T]], *, begin: bool = True) -> T:
        """A write with no idempotency or audit (housekeeping that changes no domain state); retried on contention.
        begin=False: `operation` begins the transaction with its idempotency claim."""
        for attempt in range(_CONTENTION_RETRIES):
            try:
                async with self.uow(begin=begin) as uow:
                    try:
                        result = await operation(uow)
                        await uow.commit()
                    finally:
                        announced = self._announced.pop(id(uow), None)
                if announced and self.feed is not None:
                    await self.feed.committed(announced)
                return result
            except Contention:
                if attempt == _CONTENTION_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def mutate(self, command: Command, operation: Callable[[UnitOfWork], Awaitable[Done]]) -> Outcome:
        """Run `operation` once per idempotency key and append it to the audit chain."""
        arguments = self._identity(command)
        request_hash = self._request_mac.of_arguments({"tool": command.tool, "arguments": arguments})
        if command.idempotency_key is not None:
            # Compared exactly, kept only as a keyed hash: a key is the caller's text and may hold anything.
            digest = self._key_mac.hex(command.idempotency_key.encode())
            key, ttl = "k:" + digest, self.key_ttl
        else:
            # No key: derive one from what was asked, so a blind retry inside the window is not paid twice.
            key, ttl = "d:" + request_hash, self.derived_key_window

        async def once(uow: UnitOfWork) -> Outcome:
            now, keys_now = self.clock.now(), self.key_clock.now()
            mine = StoredCall(command.tool, request_hash, arguments, {}, keys_now + ttl)
            holder = await uow.idempotency.claim(command.principal, key, mine, keys_now, begin=True)
            if holder is not None:
                return Outcome(self._replay(command, arguments, holder), True)
            try:
                done = await operation(uow)
            except DomainError as error:
                if not error.keeps_effects:
                    raise
                # The failure is a result (a declined payment stays on record): keep it, then report it.
                await self._keep(uow, command, arguments, key, error, now)
                raise
            record = self._record(uow, command, arguments, done.entities, now, outcome=done.outcome)
            await self._changed(uow, done.entities)
            response = {**done.response, "receipt": _receipt(record)}
            await uow.idempotency.complete(command.principal, key, response, record)
            return Outcome(response, False, done.value)

        try:
            return await self.write(once, begin=False)
        except DomainError as error:
            if error.audited_refusal and not error.keeps_effects:
                await self._refused(command, arguments, error)
            raise

    async def _refused(self, command: Command, arguments: Mapping[str, Any], error: DomainError) -> None:
        """The audit record of a call its controls refused, written after the call rolled back, in a transaction
        of its own; its idempotency key stays unused (a retry after the limit frees up may run)."""
        limit = error.details.get("limit")
        outcome = f"{error.code}:{limit}" if isinstance(limit, str) else error.code

        async def append(uow: UnitOfWork) -> None:
            if error.afterwards is not None:
                await error.afterwards(uow)
            await uow.audit.append(self._record(uow, command, arguments, error.entities, self.clock.now(), outcome))

        await self.write(append)

    async def background(
        self, job: str, operation: Callable[[UnitOfWork], Awaitable[T]], entities: Callable[[T], Iterable[str]]
    ) -> T:
        """Background work in one transaction with its audit record, under the system principal.

        `entities` names what the result changed; when it names nothing and nothing was posted, nothing
        is appended (a pass of due work that found nothing to do). What it posted is shown to the watchers."""

        async def run(uow: UnitOfWork) -> T:
            result = await operation(uow)
            changed = list(entities(result))
            await self._watch(uow, job, changed, uow.ledger.posted)
            if changed or uow.ledger.posted:
                record = self._record(uow, Command(job, SYSTEM_PRINCIPAL, {}), {}, changed, self.clock.now())
                await uow.audit.append(record)
                await self._changed(uow, changed)
            return result

        return await self.write(run)

    async def background_each(
        self, job: str, operation: Callable[[UnitOfWork, Callable[[Iterable[str]], Awaitable[None]]], Awaitable[T]]
    ) -> T:
        """Background work on several items in one transaction, with an audit record per item, as if each had had
        its own: `operation` awaits `done(entity ids)` after each item; the journal transactions posted since the
        previous item's are shown to the watchers, and the item's record names the ids and binds those
        transactions (none and nothing posted: no record)."""

        async def run(uow: UnitOfWork) -> T:
            bound = 0

            async def done(entities: Iterable[str]) -> None:
                nonlocal bound
                changed, posted = list(entities), uow.ledger.posted[bound:]
                bound = len(uow.ledger.posted)
                await self._watch(uow, job, changed, posted)
                if changed or posted:
                    command = Command(job, SYSTEM_PRINCIPAL, {})
                    records.append(self._record(uow, command, {}, changed, self.clock.now(), journal=posted))

            records: list[AuditRecord] = []
            result = await operation(uow, done)
            await uow.audit.append_many(records)
            await self._changed(uow, (i for r in records for i in r.record["entity_ids"]))
            return result

        return await self.write(run)

    async def _watch(
        self, uow: UnitOfWork, job: str, changed: Sequence[str], posted: Sequence[JournalTransaction]
    ) -> None:
        for watcher in self.watchers:  # money moved in the background is watched as a call's is
            await watcher.background(uow, job, changed, posted)

    async def _changed(self, uow: UnitOfWork, entities: Iterable[str]) -> None:
        """Announce, inside this write's transaction, the resources it changed (nothing without a feed)."""
        if self.feed is None:
            return
        uris = changed_uris(entities, uow.ledger.posted)
        if uris:
            await self.feed.announce(uow, uris)
            self._announced.setdefault(id(uow), []).extend(uris)

    def _identity(self, command: Command) -> dict[str, Any]:
        """The arguments that identify a call (None left out); sensitive ones only as keyed hashes, so that a
        retry still matches (same card, same hash) while the stored arguments reveal nothing."""
        arguments = {k: v for k, v in command.arguments.items() if v is not None}
        for name in command.sensitive & arguments.keys():
            digest = self._key_mac.hex(str(arguments[name]).encode())
            arguments[name] = f"hmac:{digest[:32]}"
        return arguments

    async def _keep(
        self,
        uow: UnitOfWork,
        command: Command,
        arguments: Mapping[str, Any],
        key: str,
        error: DomainError,
        now: datetime,
    ) -> None:
        record = self._record(uow, command, arguments, error.entities, now, outcome=error.code)
        error.details["receipt"] = _receipt(record)
        body = {"code": error.code, "message": error.message, "retryable": error.retryable, "details": error.details}
        await uow.idempotency.complete(command.principal, key, {_STORED_ERROR: body}, record)
        await self._changed(uow, error.entities)
        await uow.commit()
        if (announced := self._announced.pop(id(uow), None)) and self.feed is not None:
            await self.feed.committed(announced)

    @staticmethod
    def _replay(command: Command, arguments: Mapping[str, Any], stored: StoredCall) -> dict[str, Any]:
        if stored.tool == command.tool and canonical_json(stored.arguments) == canonical_json(dict(arguments)):
            if (kept := stored.response.get(_STORED_ERROR)) is not None:
                raise StoredError(kept["code"], kept["message"], retryable=kept["retryable"], **kept["details"])
            return stored.response
        differing = sorted(
            k
            for k in set(stored.arguments) | set(arguments)
            if canonical_json(stored.arguments.get(k)) != canonical_json(arguments.get(k))
        )
        if stored.tool != command.tool:
            differing.insert(0, "tool")
        raise IdempotencyConflict(
            f"idempotency key {command.idempotency_key!r} was first used for {stored.tool} with other arguments "
            f"(differing: {', '.join(differing)}); use a new key for a new request, or resend the first "
            "request unchanged to get its result",
            differing_fields=differing,
            first_tool=stored.tool,
        )

    def _record(
        self,
        uow: UnitOfWork,
        command: Command,
        arguments: Mapping[str, Any],
        entities: Iterable[str],
        now: datetime,
        outcome: str = "ok",
        journal: Iterable[JournalTransaction] | None = None,
    ) -> AuditRecord:
        """The record of what this unit of work did (or `journal`: the part of it the record is for), unsealed."""
        record_id = self.ids.new("aud")
        body = {
            "id": record_id,
            "at": now.isoformat(),
            "principal": command.principal,
            "credential": command.credential,
            "tool": command.tool,
            "arguments_sha256": self._audit_mac.of_arguments(arguments),
            "outcome": outcome,
            "entity_ids": sorted(set(entities)),
            "journal": audit.journal_bindings(uow.ledger.posted if journal is None else journal),
        }
        return AuditRecord(record_id, body)


def _receipt(record: AuditRecord) -> dict[str, Any]:
    return {"audit_id": record.id, "record_hash": audit.record_hash(record.record)}
