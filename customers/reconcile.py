"""Reconciliation: the call log settled from CCC's call detail records, not the browser's events.

For each agent with a linked cloud account the server lists the agent's own call detail records
of a time window with the agent's token (2.x ``ListRecentCallDetailRecords``, 1.x
``ListRecentCallRecords``: one call per page of 100, per agent and window) through
``ccc_proxy.services.call_as``; 2.x list rows lack the answer and release times, so
``GetCallDetailRecord`` is read once per call, only for calls the CRM has not yet seen confirmed.
Each :class:`CallRecord` is then settled with CCC's facts (start, answer and end times, duration,
direction, who released and why, skill group) and marked confirmed; calls the CRM never heard of
are created and matched to their customer by number; records of the window that CCC does not list
are marked "unknown to CCC" and kept. Facts and sources: docs/call-reconciliation.md. On 2.x the
call log also reads a call's detail record as soon as the softphone reports its end
(:func:`settle_ended_call`).

Each record is settled in its own transaction under its row lock, and only when something differs:
a second run changes nothing, two runs at once serialize per record, and a run interrupted halfway
leaves its unsettled records unconfirmed, so the next run's window (which reaches back to the
oldest unconfirmed record) finishes the job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from aliyun_oauth.services import LinkedAgent, linked_agents
from ccc_proxy.services import ProxyError, call_as
from customers.models import CallRecord
from customers.services import _customer_for, _number

logger = logging.getLogger("customers.reconcile")

API_2017 = "2017-07-05"
PAGE_SIZE = 100
# Pages read per agent and run at most: a bound on upstream calls (100 x 100 = 10,000 calls).
MAX_PAGES = 100
# A call that ended less than this long ago may not have its record yet; it is settled next run.
RECORD_DELAY = timedelta(seconds=60)
# The longest call CCC's times are believed for (start to end), as for the browser's events.
MAX_CALL_LENGTH = timedelta(hours=24)

_FIELDS = (
    "direction",
    "caller",
    "callee",
    "started_at",
    "start_known",
    "answered_at",
    "ended_at",
    "duration",
    "outcome",
    "customer_id",
    "released_by",
    "release_reason",
    "skill_group",
    "ccc_state",
)


@dataclass
class Fact:
    """One call as CCC reports it; times aware UTC, ``ended`` None while the call is live."""

    contact_id: str
    direction: str
    caller: str = ""
    callee: str = ""
    started: datetime | None = None
    answered: datetime | None = None
    ended: datetime | None = None
    released_by: str = ""
    release_reason: str = ""
    skill_group: str = ""
    complete: bool = False  # the answer and end times are known (False: read the detail record)


@dataclass
class AgentReport:
    """What one run did for one agent (counts of records) and how many upstream calls it made."""

    username: str
    listed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unknown: int = 0
    live: int = 0
    skipped: int = 0  # rows CCC sent that could not be used (missing fields, another agent...)
    upstream_calls: int = 0
    error: str = ""
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the command's output."""
        if self.error:
            return f"{self.username}: skipped ({self.error})"
        return (
            f"{self.username}: {self.listed} listed, {self.created} created, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.unknown} unknown to CCC, "
            f"{self.live} live, {self.skipped} rows skipped, {self.upstream_calls} upstream calls"
        )


def _millis(value) -> datetime | None:
    """A CCC time (milliseconds since the epoch, number or text) as aware UTC; None if unusable."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        millis = int(value)
    except (TypeError, ValueError):
        return None
    if not 0 < millis < 10**14:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def _seconds(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _short(value, limit: int) -> str:
    return str(value).strip()[:limit] if isinstance(value, str | int) else ""


def _direction(value) -> str:
    return {"inbound": CallRecord.INBOUND, "outbound": CallRecord.OUTBOUND}.get(
        str(value or "").strip().lower(), ""
    )


def _numbers(row: dict) -> tuple[str, str]:
    try:
        return _number(row.get("CallingNumber") or "", "caller"), _number(
            row.get("CalledNumber") or "", "callee"
        )
    except ValueError:  # control characters: not numbers to keep
        return "", ""


def _expected_agent_ids(agent: LinkedAgent) -> set[str]:
    """The ids CCC may name this agent by in a record: the 2.x ``UserId`` (``name@instance``)
    and the cloud user id."""
    ids = {agent.uid} if agent.uid else set()
    if agent.upn:
        ids.add(f"{agent.upn.split('@', 1)[0]}@{settings.ALIYUN_CCC_INSTANCE_ID}")
    return ids


def _for_other_agent(named: set[str], agent: LinkedAgent) -> bool:
    expected = _expected_agent_ids(agent)
    return bool(named and expected and not named & expected)


def fact_2x(row: dict, agent: LinkedAgent) -> Fact | None:
    """A 2.x ``CallDetailRecord`` (list row or ``GetCallDetailRecord`` data) as a :class:`Fact`;
    None when it has no contact id or direction, or names only other agents."""
    contact_id = _short(row.get("ContactId"), 64)
    direction = _direction(row.get("ContactType"))
    named = {a.strip() for a in str(row.get("AgentIds") or "").split(",") if a.strip()}
    if not contact_id or not direction or _for_other_agent(named, agent):
        return None
    caller, callee = _numbers(row)
    started = _millis(row.get("StartTime"))
    ended = _millis(row.get("ReleaseTime"))
    groups = str(row.get("SkillGroupIds") or "").split(",")
    return Fact(
        contact_id=contact_id,
        direction=direction,
        caller=caller,
        callee=callee,
        started=started,
        answered=_millis(row.get("EstablishedTime")),
        ended=ended,
        released_by=_short(row.get("ReleaseInitiator") or "", 32),
        release_reason=_short(row.get("ReleaseReason") or "", 128),
        skill_group=groups[0].strip()[:64],
        complete="ReleaseTime" in row,
    )


def fact_1x(row: dict, agent: LinkedAgent, now: datetime) -> Fact | None:
    """A 1.x ``ListRecentCallRecords`` row as a :class:`Fact`: answered after the agent's
    ``RingTime`` when the disposition is ``Success``, ended after ``RingTime`` + ``TalkTime``
    (1.x names no releasing party). None for rows without contact id, direction or start, rows
    of other agents, and calls that ended less than :data:`RECORD_DELAY` ago."""
    contact_id = _short(row.get("ContactId"), 64)
    direction = _direction(row.get("ContactType"))
    started = _millis(row.get("StartTime"))
    agents = row.get("Agents")
    agents = (agents.get("CallDetailAgent") if isinstance(agents, dict) else None) or [{}]
    if not isinstance(agents, list):
        agents = [agents]
    first = agents[0] if isinstance(agents[0], dict) else {}
    named = {str(a.get("AgentId")) for a in agents if isinstance(a, dict) and a.get("AgentId")}
    if not contact_id or not direction or not started or _for_other_agent(named, agent):
        return None
    ring = timedelta(seconds=_seconds(first.get("RingTime")))
    talk = timedelta(seconds=_seconds(first.get("TalkTime", row.get("Duration"))))
    answered = started + ring if row.get("ContactDisposition") == "Success" else None
    ended = started + ring + talk
    caller, callee = _numbers(row)
    return Fact(
        contact_id=contact_id,
        direction=direction,
        caller=caller,
        callee=callee,
        started=started,
        answered=answered,
        ended=ended if ended <= now - RECORD_DELAY else None,
        skill_group=_short(first.get("SkillGroupName") or row.get("SkillGroupNames") or "", 64),
        complete=True,
    )


class _Lister:
    """Reads one agent's records page by page, counting upstream calls."""

    def __init__(self, agent: LinkedAgent, report: AgentReport):
        self.agent, self.report = agent, report
        self.v1 = settings.ALIYUN_CCC_API_VERSION == API_2017

    def call(self, action: str, parameters: dict) -> dict:
        self.report.upstream_calls += 1
        return call_as(self.agent.user, action, parameters)

    def rows(self, start: datetime, until: datetime) -> tuple[list[dict], bool]:
        """The window's rows and whether the listing is complete (every page read)."""
        rows: list[dict] = []
        window = {
            "StartTime": str(int(start.timestamp() * 1000)),
            ("StopTime" if self.v1 else "EndTime"): str(int(until.timestamp() * 1000)),
            "PageSize": str(PAGE_SIZE),
        }
        action = "ListRecentCallRecords" if self.v1 else "ListRecentCallDetailRecords"
        for number in range(1, MAX_PAGES + 1):
            answer = self.call(action, {**window, "PageNumber": str(number)})
            page = (answer.get("CallDetailRecords") if self.v1 else answer.get("Data")) or {}
            found = page.get("List") if isinstance(page, dict) else None
            if self.v1 and isinstance(found, dict):
                found = found.get("CallDetailRecord")
            found = [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []
            rows.extend(found)
            total = page.get("TotalCount") if isinstance(page, dict) else None
            if not found or len(found) < PAGE_SIZE:
                return rows, True
            if isinstance(total, int) and len(rows) >= total:
                return rows, True
        return rows, False

    def detail(self, contact_id: str) -> dict | None:
        try:
            data = self.call("GetCallDetailRecord", {"ContactId": contact_id}).get("Data")
        except ProxyError as exc:
            if exc.status == 404:
                return None
            raise
        return data if isinstance(data, dict) else None


def _sane(fact: Fact) -> Fact:
    """CCC's times made consistent: never answered before the start or after the end."""
    start = fact.started or fact.answered or fact.ended
    if fact.ended and start and fact.ended < start:
        fact.ended = start
    if fact.answered and start and fact.answered < start:
        fact.answered = start
    if fact.answered and fact.ended and fact.answered > fact.ended:
        fact.answered = fact.ended
    if fact.ended and start and fact.ended - start > MAX_CALL_LENGTH:
        fact.ended = None  # not believable: left open, as a live call
    fact.started = start
    return fact


def _snapshot(record: CallRecord) -> tuple:
    return tuple(getattr(record, name) for name in _FIELDS)


def _lock(agent, fact: Fact) -> tuple[CallRecord, bool]:
    """The agent's record of the call, locked; created when missing (the unique constraint
    decides a race between two runs). Returns (record, whether it existed)."""
    found = CallRecord.objects.select_for_update().filter(agent=agent, contact_id=fact.contact_id)
    record = found.first()
    if record is not None:
        return record, True
    try:
        with transaction.atomic():  # a savepoint: a lost race must not poison the transaction
            return CallRecord.objects.create(
                agent=agent, contact_id=fact.contact_id, direction=fact.direction
            ), False
    except IntegrityError:
        return found.get(), True


def settle(agent, fact: Fact, now: datetime) -> str:
    """Write CCC's ``fact`` into ``agent``'s record of the call (created when missing) under its
    row lock. Returns ``"created"``, ``"updated"``, ``"unchanged"`` or ``"live"`` (no end time
    yet: nothing written)."""
    fact = _sane(fact)
    if fact.ended is None or fact.started is None:
        return "live"
    with transaction.atomic():
        record, existed = _lock(agent, fact)
        before = _snapshot(record) if existed else None
        record.direction = fact.direction
        record.caller = record.caller or fact.caller
        record.callee = record.callee or fact.callee
        record.started_at, record.start_known = fact.started, True
        record.answered_at, record.ended_at = fact.answered, fact.ended
        record.released_by = fact.released_by
        record.release_reason = fact.release_reason
        record.skill_group = fact.skill_group
        record.ccc_state = CallRecord.CONFIRMED
        if record.customer_id is None:
            record.customer = _customer_for(record.remote_number)
        record.settle()
        if before is not None and _snapshot(record) == before:
            return "unchanged"
        record.ccc_checked_at = now
        record.save()
    return "updated" if existed else "created"


def _mark_unknown(agent, start: datetime, until: datetime, listed: set[str], now) -> int:
    """Mark the agent's unconfirmed records of the window that CCC did not list (kept)."""
    missing = CallRecord.objects.filter(
        agent=agent,
        ccc_state=CallRecord.UNCHECKED,
        started_at__gte=start,
        started_at__lt=until - RECORD_DELAY,
    ).exclude(contact_id__in=listed)
    return missing.update(ccc_state=CallRecord.NOT_IN_CCC, ccc_checked_at=now)


def window_start(agent, since: datetime | None, now: datetime) -> datetime:
    """Where an agent's window begins: ``since`` when given, else ``CALL_RECONCILE_WINDOW``
    seconds ago or the agent's oldest unconfirmed record, whichever is earlier."""
    if since is not None:
        return since
    start = now - timedelta(seconds=settings.CALL_RECONCILE_WINDOW)
    oldest = (
        CallRecord.objects.filter(agent=agent, ccc_state=CallRecord.UNCHECKED)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return min(start, oldest) if oldest else start


def reconcile_agent(agent: LinkedAgent, since: datetime | None = None, now=None) -> AgentReport:
    """Reconcile one linked agent's calls from ``since`` (see :func:`window_start`) to now.
    Upstream failures end this agent's run with ``error`` set; nothing is lost."""
    now = now or timezone.now()
    user = agent.user
    report = AgentReport(username=user.get_username())
    lister = _Lister(agent, report)
    start = window_start(user, since, now)
    try:
        rows, complete = lister.rows(start, now)
        facts = []
        for row in rows:
            fact = fact_1x(row, agent, now) if lister.v1 else fact_2x(row, agent)
            if fact is None:
                report.skipped += 1
            else:
                facts.append(fact)
        report.listed = len(facts)
        done = set(
            CallRecord.objects.filter(
                agent=user,
                contact_id__in=[f.contact_id for f in facts],
                ccc_state=CallRecord.CONFIRMED,
                ended_at__isnull=False,
            ).values_list("contact_id", flat=True)
        )
        for fact in facts:
            if fact.contact_id in done:
                report.unchanged += 1
                continue
            if not fact.complete:
                data = lister.detail(fact.contact_id)
                detailed = fact_2x(data, agent) if data else None
                if detailed is None:
                    report.skipped += 1
                    continue
                fact = detailed
            outcome = settle(user, fact, now)
            setattr(report, outcome, getattr(report, outcome) + 1)
        if complete:
            report.unknown = _mark_unknown(user, start, now, {f.contact_id for f in facts}, now)
    except ProxyError as exc:
        report.error = (
            "the cloud account link is gone"
            if exc.error_code == "NotAuthenticated"
            else f"CCC answered {exc.status} {exc.error_code}"
        )
        logger.warning("reconcile_calls %s: %s", report.username, report.error)
    return report


def settle_ended_call(user, record: CallRecord) -> CallRecord:
    """Right after the softphone reports ``record``'s end: read its detail record from CCC
    (2.x ``GetCallDetailRecord``, with ``user``'s token) and settle it; returns the record as it
    is now. Best effort: without a link, on 1.x (no single-call action), or when CCC has no
    finished record yet, the record stays as the browser left it for ``reconcile_calls``."""
    if settings.ALIYUN_CCC_API_VERSION == API_2017 or record.ccc_state == CallRecord.CONFIRMED:
        return record
    agent = next((a for a in linked_agents([user.get_username()]) if a.user.pk == user.pk), None)
    if agent is None:
        return record
    try:
        data = _Lister(agent, AgentReport(username=user.get_username())).detail(record.contact_id)
    except ProxyError as exc:
        logger.info("settling call %s after its end: %s", record.pk, exc.error_code)
        return record
    fact = fact_2x(data, agent) if data else None
    if fact is not None and fact.contact_id == record.contact_id:
        settle(user, fact, timezone.now())
        record.refresh_from_db()
    return record


def reconcile(
    since: datetime | None = None, usernames: list[str] | None = None
) -> list[AgentReport]:
    """Reconcile every linked agent (or those named): one :class:`AgentReport` each."""
    now = timezone.now()
    return [reconcile_agent(agent, since, now) for agent in linked_agents(usernames)]
