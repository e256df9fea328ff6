"""Running SLA timers on conversations: start, pause, resume, stop, recompute, escalate.

Every timer counts business time of the conversation's service window (see business_time).
Callers pass `at`/`now` explicitly so the same code serves requests, the sweep and tests.
Alerts and exact re-checks are sent after commit, never for a transaction that rolls back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core import integrations
from core.bulk import insert_rows, update_rows
from core.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    IntegrationEvent,
    Post,
)
from core.models import Priority as ConversationPriority
from core.outbox import deliver_after_commit
from core.realtime import broadcast_conversation, current_request_id, user_group
from core.reply_templates import render_text
from reliability.services import task_named

from .business_time import Schedule, add_business_time, business_time_between, is_open
from .models import ServiceWindow, SlaPolicy, SlaTimer, TimerKind, TimerState

logger = logging.getLogger(__name__)

# Used when no policy matches (e.g. every policy was deactivated).
FALLBACK_POLICY = SlaPolicy(name="Best practice (built in)")
RESPONSE_KINDS = (TimerKind.FIRST_RESPONSE, TimerKind.NEXT_RESPONSE)
# Read once: an enum's .values builds its list again on every call.
TIMER_KINDS = tuple(TimerKind.values)


def alert_team_group(team_id: int) -> str:
    return f"sla.team.{team_id}"


def alert_user_group(user_id: int) -> str:
    return user_group(user_id)


# --- choosing the window and the policy ----------------------------------------------------


# Helpers look up what their caller has not already read (a timer, a window) themselves.
_LOOK_UP = object()


def window_for(conversation: Conversation) -> ServiceWindow | None:
    """The account's own window, else its platform's, else none (24/7 in TIME_ZONE)."""
    account = conversation.account
    return (
        ServiceWindow.objects.filter(
            Q(account=account) | Q(account=None, platform=account.platform)
        )
        .order_by(F("account_id").asc(nulls_last=True))
        .prefetch_related("business_hours", "closures")
        .first()
    )


def schedule_for(
    conversation: Conversation, *, window: ServiceWindow | object | None = _LOOK_UP
) -> Schedule:
    """The conversation's business-time schedule; a caller that has read its window passes it."""
    if window is _LOOK_UP:
        window = window_for(conversation)
    if window is None:
        return Schedule.always(timezone.get_default_timezone())
    schedule = window.schedule()
    if not any(schedule.hours):
        # The admin refuses this; a window emptied some other way must not stop posts from
        # being processed, so its clock runs around the clock until someone fixes it.
        logger.error("Service window %s has no opening hours; counting 24/7.", window.pk)
        return Schedule.always(schedule.timezone, closed_dates=schedule.closed_dates)
    return schedule


def policy_for(
    conversation: Conversation, *, policies: list[SlaPolicy] | None = None
) -> SlaPolicy | None:
    """The first active policy whose conditions all hold for the conversation; a caller that
    has read the active policies (in order) passes them."""
    customer = conversation.customer
    if policies is None:
        policies = list(SlaPolicy.objects.filter(is_active=True))
    for policy in policies:
        if policy.platform and policy.platform != conversation.account.platform:
            continue
        if policy.intent and policy.intent != conversation.intent:
            continue
        if policy.min_priority is not None and conversation.priority < policy.min_priority:
            continue
        if policy.min_followers is not None and customer.follower_count < policy.min_followers:
            continue
        if policy.verified_only and not customer.is_verified:
            continue
        return policy
    return None


@dataclass
class ClockBatch:
    """What the inbound posts of one batch share: their accounts' windows and schedules and
    the active policies, read once; and the timers they start, written together at `flush`.
    """

    windows: dict[int, ServiceWindow | None] = field(default_factory=dict)
    schedules: dict[int | None, Schedule] = field(default_factory=dict)
    policies: list[SlaPolicy] | None = None
    # The timers started, by (conversation id, kind), until `flush` writes them.
    started: dict[tuple[int, str], SlaTimer] = field(default_factory=dict)
    # The timers the batch's conversations had, by conversation id and kind (read_timers).
    existing: dict[int, dict[str, SlaTimer]] = field(default_factory=dict)

    def read_timers(self, conversation_ids: Iterable[int], *, new: Iterable[int] = ()) -> None:
        """Read the timers of the batch's conversations in one query; the `new` ones, created
        in the caller's transaction, have none. (A prefetch builds a queryset per
        conversation: it cost more than the query.)"""
        conversation_ids = list(conversation_ids)
        self.existing.update((pk, {}) for pk in [*conversation_ids, *new])
        for timer in SlaTimer.objects.filter(conversation_id__any=conversation_ids):
            self.existing[timer.conversation_id][timer.kind] = timer

    def window(self, conversation: Conversation) -> ServiceWindow | None:
        if conversation.account_id not in self.windows:
            self.windows[conversation.account_id] = window_for(conversation)
        return self.windows[conversation.account_id]

    def schedule(self, conversation: Conversation, window: ServiceWindow | None) -> Schedule:
        key = window.pk if window is not None else None
        if key not in self.schedules:
            self.schedules[key] = schedule_for(conversation, window=window)
        return self.schedules[key]

    def policy(self, conversation: Conversation) -> SlaPolicy:
        if self.policies is None:
            self.policies = list(SlaPolicy.objects.filter(is_active=True))
        return policy_for(conversation, policies=self.policies) or FALLBACK_POLICY

    def timers_of(self, conversation: Conversation) -> dict[str, SlaTimer]:
        """The conversation's timers by kind, with those this batch started."""
        if conversation.pk in self.existing:
            timers = dict(self.existing[conversation.pk])
        else:
            timers = {timer.kind: timer for timer in conversation.sla_timers.all()}
        for kind in TIMER_KINDS:
            if (conversation.pk, kind) in self.started:
                timers[kind] = self.started[conversation.pk, kind]
        return timers

    def flush(self) -> None:
        """Write the started timers (one insert for the new ones) and schedule their checks."""
        timers = list(self.started.values())
        restarted = [timer for timer in timers if not timer._state.adding]
        insert_rows([timer for timer in timers if timer._state.adding])
        now = timezone.now()
        for timer in restarted:
            timer.updated_at = now
        if restarted:
            update_rows(restarted, [*_TIMER_FIELDS, "updated_at"])
        _check_on_time(*timers)
        self.started = {}


# Everything `_start` sets on a timer it restarts.
_TIMER_FIELDS = [
    "cycle",
    "state",
    "started_at",
    "pauses",
    "paused_since",
    "stopped_at",
    "business_seconds",
    "policy",
    "target_seconds",
    "at_risk_percent",
    "at_risk_at",
    "due_at",
]


# --- the timer arithmetic ----------------------------------------------------------------------


def _pauses(timer: SlaTimer) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in timer.pauses]


def business_elapsed(timer: SlaTimer, schedule: Schedule, *, at: datetime) -> timedelta:
    """Business time the timer has counted by `at` (or by when it stopped or paused)."""
    until = min(filter(None, [at, timer.stopped_at, timer.paused_since]))
    return business_time_between(timer.started_at, until, schedule, pauses=_pauses(timer))


def _retarget(timer: SlaTimer, policy: SlaPolicy, schedule: Schedule, *, at: datetime) -> None:
    """Set the target from the policy and, if running, when it is at risk and due."""
    target = policy.target(timer.kind)
    timer.policy = policy if policy.pk else None
    timer.target_seconds = int(target.total_seconds())
    timer.at_risk_percent = policy.at_risk_percent
    if not timer.is_running:
        timer.at_risk_at = timer.due_at = None
        return
    # Count from where the clock last (re)started: what elapsed before it is history, so the
    # thresholds do not depend on when they are computed.
    pauses = _pauses(timer)
    anchor = max([timer.started_at, *(end for _, end in pauses)])
    elapsed = business_time_between(timer.started_at, anchor, schedule, pauses=pauses)
    warn_after = target * policy.at_risk_percent / 100
    timer.due_at = add_business_time(anchor, max(target - elapsed, timedelta(0)), schedule)
    timer.at_risk_at = add_business_time(anchor, max(warn_after - elapsed, timedelta(0)), schedule)
    if timer.state == TimerState.BREACHED and timer.due_at > at:
        # A longer target (policy or window edited) un-breaches the timer; its alerts for
        # this cycle are not repeated.
        timer.state = TimerState.AT_RISK if timer.at_risk_at <= at else TimerState.OK
    elif timer.state == TimerState.AT_RISK and timer.at_risk_at > at:
        timer.state = TimerState.OK


def _stop(timer: SlaTimer, schedule: Schedule, *, at: datetime) -> None:
    if timer.paused_since is not None:
        timer.pauses = [*timer.pauses, [timer.paused_since.isoformat(), at.isoformat()]]
        timer.paused_since = None
    elapsed = business_elapsed(timer, schedule, at=at)
    timer.stopped_at = at
    timer.business_seconds = elapsed.total_seconds()
    timer.state = (
        TimerState.MET
        if elapsed <= timedelta(seconds=timer.target_seconds)
        else TimerState.BREACHED
    )
    timer.at_risk_at = timer.due_at = None


def _start(
    conversation: Conversation,
    kind: str,
    policy: SlaPolicy,
    schedule: Schedule,
    *,
    started_at: datetime,
    at: datetime,
    timer: SlaTimer | object | None = _LOOK_UP,
    batch: ClockBatch | None = None,
) -> SlaTimer:
    """Start (or restart, as the next cycle) the conversation's timer of `kind`. A caller
    that has already read the conversation's timers passes the one of this kind (or None),
    saving a query per timer on every inbound post; with a `batch`, the timer is written
    when the batch flushes."""
    if timer is _LOOK_UP:
        timer = SlaTimer.objects.filter(conversation=conversation, kind=kind).first()
    if timer is None:
        timer = SlaTimer(conversation=conversation, kind=kind, cycle=1)
    else:
        timer.cycle += 1
    timer.state = TimerState.OK
    timer.started_at = started_at
    timer.pauses = []
    timer.paused_since = timer.stopped_at = timer.business_seconds = None
    _retarget(timer, policy, schedule, at=at)
    if batch is not None:
        batch.started[(conversation.pk, kind)] = timer
        return timer
    timer.save()
    _check_on_time(timer)
    return timer


def _check_on_time(*timers: SlaTimer) -> None:
    """Have a sweep run exactly when these timers cross their thresholds; the beat sweep is
    the safety net (and the only mechanism when tasks run eagerly, where an eta means nothing).

    The checks are coalesced: one sweep per second that has a threshold in it, whatever the
    number of timers (a cache mark says the second is taken, across workers). A storm of a
    thousand new conversations a second then queues a few tasks, not thousands; an eta task
    waits in a worker's memory until it is due, so their number must not grow with traffic.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER or settings.SLA_EXACT_CHECK_HORIZON_SECONDS <= 0:
        return
    # Redis redelivers a task not acknowledged within its visibility timeout (an hour by
    # default), and an eta task waits unacknowledged; so only near instants get an exact
    # check, and the sweep catches the rest with at most one sweep period's delay.
    horizon = timezone.now() + timedelta(seconds=settings.SLA_EXACT_CHECK_HORIZON_SECONDS)
    seconds = {
        # Rounded up: at the whole second the threshold has passed.
        math.ceil(instant.timestamp())
        for timer in timers
        for instant in (timer.at_risk_at, timer.due_at)
        if instant is not None and instant <= horizon
    }
    if seconds:
        transaction.on_commit(lambda: schedule_sweeps(sorted(seconds)))


def schedule_sweeps(seconds: list[int]) -> None:
    """Queue a sweep at each of these Unix seconds, unless one is queued for it already."""
    sweep_sla_timers = task_named("sla.tasks.sweep_sla_timers")
    expires = int(settings.SLA_EXACT_CHECK_HORIZON_SECONDS) + 60
    for second in seconds:
        try:
            if cache.add(f"sla:exact-sweep:{second}", 1, timeout=expires):
                sweep_sla_timers.apply_async(eta=datetime.fromtimestamp(second, tz=UTC))
        except Exception:
            logger.exception("Could not schedule the SLA sweep at %s", second)


# --- what happens to a conversation --------------------------------------------------------


def start_response_clocks(
    *, conversation: Conversation, post: Post, batch: ClockBatch | None = None
) -> None:
    """Put an inbound post on the clock; the caller holds the conversation locked and saves it.

    The conversation's first post starts the first-response and resolution timers (from when
    Parley received the conversation); a later post, once the brand has answered, starts the
    next-response timer unless one is already running. The posts of one batch share a
    `batch`, which the caller flushes; without one the timers are written at once.
    """
    own_batch = batch is None
    batch = batch or ClockBatch()
    now = timezone.now()
    window = batch.window(conversation)
    schedule = batch.schedule(conversation, window)
    policy = batch.policy(conversation)
    timers = batch.timers_of(conversation)

    def start(kind: str, *, started_at: datetime) -> SlaTimer:
        return _start(
            conversation,
            kind,
            policy,
            schedule,
            started_at=started_at,
            at=now,
            timer=timers.get(kind),
            batch=batch,
        )

    if TimerKind.FIRST_RESPONSE not in timers and conversation.first_response_at is None:
        first = start(TimerKind.FIRST_RESPONSE, started_at=conversation.created_at)
        conversation.first_response_due_at = first.due_at
        if TimerKind.RESOLUTION not in timers:
            start(TimerKind.RESOLUTION, started_at=conversation.created_at)
        _reply_out_of_hours(conversation=conversation, post=post, schedule=schedule, window=window)
    elif conversation.first_response_at is not None:
        next_response = timers.get(TimerKind.NEXT_RESPONSE)
        if next_response is None or next_response.stopped_at is not None:
            start(TimerKind.NEXT_RESPONSE, started_at=post.received_at)
    if own_batch:
        batch.flush()


def customer_returned(*, conversation: Conversation, at: datetime, batch: ClockBatch) -> None:
    """The customer wrote to a conversation that was waiting on them (pending) or had been
    resolved: the resolution clock runs again. A paused one resumes where it stopped (the
    pause is closed at `at`); a stopped one starts a new cycle from `at`. The caller holds
    the conversation locked, flushes the batch and saves the conversation."""
    timer = batch.timers_of(conversation).get(TimerKind.RESOLUTION)
    if timer is None:
        return
    window = batch.window(conversation)
    schedule = batch.schedule(conversation, window)
    if timer.stopped_at is not None:
        _start(
            conversation,
            TimerKind.RESOLUTION,
            batch.policy(conversation),
            schedule,
            started_at=at,
            at=at,
            timer=timer,
            batch=batch,
        )
    elif timer.paused_since is not None:
        timer.pauses = [*timer.pauses, [timer.paused_since.isoformat(), at.isoformat()]]
        timer.paused_since = None
        _retarget(timer, timer.policy or batch.policy(conversation), schedule, at=at)
        batch.started[(conversation.pk, TimerKind.RESOLUTION)] = timer


def start_clocks_now(*, conversation: Conversation, at: datetime) -> None:
    """Put a conversation that needed no reply back on the clock, from `at` (an agent pulled
    it back from "No reply needed"): the response owed (first or next) and the resolution.
    The caller holds the conversation locked and saves it."""
    batch = ClockBatch()
    batch.read_timers([conversation.pk])
    timers = batch.timers_of(conversation)
    window = batch.window(conversation)
    schedule = batch.schedule(conversation, window)
    policy = batch.policy(conversation)
    kind = (
        TimerKind.FIRST_RESPONSE
        if conversation.first_response_at is None
        else TimerKind.NEXT_RESPONSE
    )
    for timer_kind in (kind, TimerKind.RESOLUTION):
        timer = timers.get(timer_kind)
        if timer is None or timer.stopped_at is not None:
            started = _start(
                conversation,
                timer_kind,
                policy,
                schedule,
                started_at=at,
                at=at,
                timer=timer,
                batch=batch,
            )
            if timer_kind == TimerKind.FIRST_RESPONSE:
                conversation.first_response_due_at = started.due_at
    batch.flush()


def drop_running_clocks(*, conversation: Conversation) -> int:
    """Remove the running clocks of a conversation that needs no reply (an agent marked it
    spam / no reply needed): spam runs no clock, and stopping them would count them met or
    breached in the reports. Stopped timers stay as history. Returns how many went. The
    caller holds the conversation locked and clears `first_response_due_at`."""
    deleted, _ = conversation.sla_timers.filter(stopped_at=None).delete()
    return deleted


def record_first_response(conversation: Conversation, *, responded_at: datetime) -> bool:
    """Stop the response clocks at a brand reply; the caller saves the conversation.

    Returns whether this reply was the first.
    """
    schedule = schedule_for(conversation)
    running = conversation.sla_timers.filter(kind__in=RESPONSE_KINDS, stopped_at=None)
    for timer in running:
        _stop(timer, schedule, at=responded_at)
        timer.save()
    if conversation.first_response_at is not None:
        return False
    conversation.first_response_at = responded_at
    return True


def conversation_status_changed(*, conversation: Conversation, at: datetime) -> None:
    """Pause the resolution clock while the customer owes an answer, resume it exactly when
    they are back, stop every clock when the conversation is resolved or closed, and start
    a new resolution cycle when it is opened again."""
    schedule = schedule_for(conversation)
    with transaction.atomic():
        for timer in SlaTimer.objects.select_for_update().filter(
            conversation=conversation, stopped_at=None
        ):
            if conversation.status in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
                _stop(timer, schedule, at=at)
            elif timer.kind != TimerKind.RESOLUTION:
                continue
            elif conversation.status == ConversationStatus.PENDING:
                if timer.paused_since is not None:
                    continue
                timer.paused_since = at
                timer.at_risk_at = timer.due_at = None
            elif timer.paused_since is not None:
                timer.pauses = [*timer.pauses, [timer.paused_since.isoformat(), at.isoformat()]]
                timer.paused_since = None
                _retarget(timer, timer.policy or FALLBACK_POLICY, schedule, at=at)
                _check_on_time(timer)
            else:
                continue
            timer.save()
        reopened = conversation.status in (ConversationStatus.NEW, ConversationStatus.OPEN)
        if reopened and conversation.sla_timers.filter(
            kind=TimerKind.RESOLUTION, stopped_at__isnull=False
        ):
            # A resolved conversation opened again owes a resolution again, from now.
            policy = policy_for(conversation) or FALLBACK_POLICY
            _start(conversation, TimerKind.RESOLUTION, policy, schedule, started_at=at, at=at)


def recompute_timers(*, conversation_id: int, at: datetime) -> None:
    """Re-choose the policy and re-read the window, and move the running timers' thresholds.

    Counted business time is recounted under the current window from the timer's start.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update()
            .select_related("account", "customer")
            .get(pk=conversation_id)
        )
        schedule = schedule_for(conversation)
        policy = policy_for(conversation) or FALLBACK_POLICY
        for timer in conversation.sla_timers.filter(stopped_at=None):
            _retarget(timer, policy, schedule, at=at)
            timer.save()
            _check_on_time(timer)
            if timer.kind == TimerKind.FIRST_RESPONSE:
                conversation.first_response_due_at = timer.due_at
                conversation.save(update_fields=["first_response_due_at"])


def recompute_active_timers(*, at: datetime) -> int:
    """Recompute every conversation with a timer still running (after a policy or window
    edit); returns how many."""
    ids = list(
        SlaTimer.objects.filter(stopped_at=None)
        .values_list("conversation_id", flat=True)
        .distinct()
    )
    for conversation_id in ids:
        recompute_timers(conversation_id=conversation_id, at=at)
    return len(ids)


def _reply_out_of_hours(
    *, conversation: Conversation, post: Post, schedule: Schedule, window: ServiceWindow | None
) -> None:
    """Tell a customer who writes while the team is away when it is back (not an agent's
    answer: the first-response clock keeps running)."""
    received = post.received_at or timezone.now()
    if window is None or not window.out_of_hours_reply or is_open(received, schedule):
        return
    back_at = add_business_time(received, timedelta(0), schedule).astimezone(schedule.timezone)
    text = render_text(
        window.out_of_hours_reply,
        conversation=conversation,
        extra={"back_at": f"{back_at:%A %H:%M %Z}"},
    )
    reply = Post.objects.create(
        conversation=conversation,
        direction=Direction.OUTBOUND,
        platform=conversation.account.platform,
        text=text,
        in_reply_to=post.external_id or "",
        created_at=received,
        delivery_status=DeliveryStatus.PENDING,
    )
    deliver_after_commit(reply.pk)


# --- escalation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    at_risk: int
    breached: int


def due_for_escalation(*, now: datetime) -> list[int]:
    """Ids of running timers that have crossed a threshold they have not been marked for."""
    crossed_at_risk = Q(state=TimerState.OK, at_risk_at__lte=now)
    crossed_due = Q(state__in=[TimerState.OK, TimerState.AT_RISK], due_at__lte=now)
    return list(
        SlaTimer.objects.filter(stopped_at=None, paused_since=None)
        .filter(crossed_at_risk | crossed_due)
        .values_list("pk", flat=True)
    )


def sweep_timers(*, now: datetime) -> SweepResult:
    """Mark every timer that crossed a threshold and alert for it; safe to run concurrently."""
    at_risk = breached = 0
    for timer_id in due_for_escalation(now=now):
        crossed = escalate_timer(timer_id=timer_id, now=now)
        at_risk += crossed == TimerState.AT_RISK
        breached += crossed == TimerState.BREACHED
    return SweepResult(at_risk=at_risk, breached=breached)


def escalate_timer(*, timer_id: int, now: datetime) -> str | None:
    """Move one timer to at risk or breached if its threshold has passed, alerting once per
    threshold and cycle; returns the threshold crossed now, if any."""
    conversation_id = (
        SlaTimer.objects.filter(pk=timer_id).values_list("conversation_id", flat=True).first()
    )
    if conversation_id is None:
        return None
    with transaction.atomic():
        # Conversation first, then its timer: the order every other writer of both uses
        # (processing a post, sending a reply, recomputing), so they cannot deadlock.
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        timer = (
            SlaTimer.objects.select_for_update(of=("self",))
            .select_related("policy", "policy__reassign_team_on_breach")
            .filter(pk=timer_id, stopped_at=None, paused_since=None)
            .first()
        )
        if timer is None or timer.due_at is None:
            return None
        if timer.due_at <= now and timer.state != TimerState.BREACHED:
            crossed = TimerState.BREACHED
        elif timer.at_risk_at <= now and timer.state == TimerState.OK:
            crossed = TimerState.AT_RISK
        else:
            return None
        timer.state = crossed
        alert = False
        if crossed == TimerState.BREACHED and timer.breach_alerted_cycle < timer.cycle:
            timer.breach_alerted_cycle = timer.at_risk_alerted_cycle = timer.cycle
            alert = True
        elif crossed == TimerState.AT_RISK and timer.at_risk_alerted_cycle < timer.cycle:
            timer.at_risk_alerted_cycle = timer.cycle
            alert = True
        timer.save()
        team_before = conversation.team_id
        if alert and crossed == TimerState.BREACHED:
            integrations.emit(IntegrationEvent.SLA_BREACHED, conversation)
            if timer.policy is not None:
                _apply_breach_actions(conversation, timer.policy)
        if alert:
            payload = _alert_payload(timer, conversation)
            groups = _alert_groups(conversation)
            transaction.on_commit(lambda: _push_alert(payload, groups))
        conversation_id = conversation.pk
        # A breach may have moved it to another team (the policy's): the team it left hears.
        left = team_before if team_before != conversation.team_id else None
        transaction.on_commit(
            lambda: broadcast_conversation(conversation_id, event="sla.changed", left_team_id=left)
        )
    return crossed


def _apply_breach_actions(conversation: Conversation, policy: SlaPolicy) -> None:
    changed = []
    if policy.raise_priority_on_breach and conversation.priority < ConversationPriority.URGENT:
        conversation.priority += 1
        changed.append("priority")
    team = policy.reassign_team_on_breach
    if team is not None and conversation.team_id != team.pk:
        conversation.team = team
        conversation.assignee = None
        changed += ["team", "assignee"]
    if changed:
        conversation.save(update_fields=[*changed, "updated_at"])


def _alert_groups(conversation: Conversation) -> list[str]:
    groups = []
    if conversation.assignee_id is not None:
        groups.append(alert_user_group(conversation.assignee_id))
    if conversation.team_id is not None:
        groups.append(alert_team_group(conversation.team_id))
    return groups


def _alert_payload(timer: SlaTimer, conversation: Conversation) -> dict:
    threshold = "breached" if timer.state == TimerState.BREACHED else "at_risk"
    return {
        # The same alert reaches a supervisor who is also the assignee twice; the id lets
        # the browser show it once.
        "alert_id": f"{timer.pk}:{timer.cycle}:{threshold}",
        "event": f"sla.{threshold}",
        "conversation_id": conversation.pk,
        "timer": timer.kind,
        "timer_label": timer.get_kind_display(),
        "state": timer.state,
        "due_at": timer.due_at.isoformat() if timer.due_at else None,
        "team_id": conversation.team_id,
        "assignee_id": conversation.assignee_id,
        "priority": conversation.priority,
        "url": f"/conversations/{conversation.pk}/",
    }


def _push_alert(payload: dict, groups: list[str]) -> None:
    """Deliver an alert to the connected sockets; a channel layer that is down is logged, the
    timer's state is already stored and shows on the next load."""
    layer = get_channel_layer()
    message = {"type": "sla.alert", "alert": payload, "request_id": current_request_id()}
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.exception("Could not push SLA alert %s", payload["alert_id"])
