"""A small hand-built history whose every KPI can be worked out on paper.

The week of Monday 2 March 2026 (UTC). Seconds from each conversation's creation:

    conv  account  created       first reply  resolved  intent     assignee  needs reply
    c1    demo     Mon 09:00     +60          +3600     complaint  alice     yes
    c2    demo     Mon 10:00     +120         +7200     complaint  bob       yes
    c3    demo     Tue 09:30     +180         +1800     question   alice     yes
    c4    demo     Wed 14:00     +600         -         question   bob       yes
    c5    x        Sat 22:00     +1200        -         other      -         yes
    c6    demo     Sun 08:00     -            -         question   -         yes
    c7    demo     Sun 08:30     -            -         spam       -         no

Later customer turns: c1 writes at 09:10 and 09:12, answered 09:15 (one turn, 300 s);
c2 writes at 10:30, never answered; c3 writes at 09:40, answered 09:42 (120 s).

Triage answered c2's and c4's first posts automatically; an agent then corrected c4's intent
and confirmed c2's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import F

from core.models import Conversation, Direction, Intent, Platform, Post, Sentiment
from reports.models import CsatSurvey
from sla.models import SlaTimer, TimerKind, TimerState
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    PlatformAccountFactory,
    PostFactory,
)
from triage.models import AutoReply, AutoResponse, TriageFeedback

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
PERIOD = {"start": "2026-03-02", "end": "2026-03-08"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


@dataclass
class Week:
    demo: object
    x: object
    alice: object
    bob: object
    conversations: dict[str, Conversation]


def make_conversation(
    *,
    account,
    created: datetime,
    first_reply: int | None = None,
    resolved: int | None = None,
    intent: str = Intent.QUESTION,
    assignee=None,
    needs_reply: bool = True,
    sentiment: str = "",
    team=None,
) -> Conversation:
    customer = CustomerFactory(platform=account.platform)
    conversation = ConversationFactory(
        account=account, customer=customer, assignee=assignee, team=team
    )
    # created_at is auto_now_add: set the history's own instants afterwards.
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=created,
        last_inbound_at=created,
        first_response_at=created + timedelta(seconds=first_reply) if first_reply else None,
        resolved_at=created + timedelta(seconds=resolved) if resolved else None,
        status="resolved" if resolved else "open",
        intent=intent,
        needs_reply=needs_reply,
    )
    conversation.refresh_from_db()
    inbound(conversation, created, sentiment=sentiment)
    if first_reply:
        outbound(conversation, created + timedelta(seconds=first_reply))
    return conversation


def inbound(conversation, when: datetime, *, sentiment: str = "", text: str = "help") -> Post:
    return PostFactory(
        conversation=conversation,
        direction=Direction.INBOUND,
        created_at=when,
        sentiment=sentiment,
        text=text,
    )


def outbound(conversation, when: datetime, *, agent=None) -> Post:
    return PostFactory(
        conversation=conversation,
        direction=Direction.OUTBOUND,
        customer=None,
        agent=agent,
        created_at=when,
        text="On it!",
    )


def first_response_timer(conversation, state: str) -> SlaTimer:
    return SlaTimer.objects.create(
        conversation=conversation,
        kind=TimerKind.FIRST_RESPONSE,
        state=state,
        target_seconds=900,
        started_at=conversation.created_at,
        stopped_at=conversation.first_response_at,
    )


def build_week() -> Week:
    demo = PlatformAccountFactory(platform=Platform.DEMO, handle="brand_demo")
    x = PlatformAccountFactory(platform=Platform.TWITTER, handle="brand_x")
    alice = AgentFactory(username="alice")
    bob = AgentFactory(username="bob")
    neg, pos = Sentiment.NEGATIVE, Sentiment.POSITIVE
    c = {
        "c1": make_conversation(
            account=demo,
            created=at(0, 9),
            first_reply=60,
            resolved=3600,
            intent=Intent.COMPLAINT,
            assignee=alice,
            sentiment=neg,
        ),
        "c2": make_conversation(
            account=demo,
            created=at(0, 10),
            first_reply=120,
            resolved=7200,
            intent=Intent.COMPLAINT,
            assignee=bob,
        ),
        "c3": make_conversation(
            account=demo,
            created=at(1, 9, 30),
            first_reply=180,
            resolved=1800,
            assignee=alice,
            sentiment=pos,
        ),
        "c4": make_conversation(account=demo, created=at(2, 14), first_reply=600, assignee=bob),
        "c5": make_conversation(
            account=x, created=at(5, 22), first_reply=1200, intent=Intent.OTHER
        ),
        "c6": make_conversation(account=demo, created=at(6, 8)),
        "c7": make_conversation(
            account=demo, created=at(6, 8, 30), intent=Intent.SPAM, needs_reply=False
        ),
    }
    inbound(c["c1"], at(0, 9, 10), sentiment=neg)
    inbound(c["c1"], at(0, 9, 12), sentiment=neg)
    outbound(c["c1"], at(0, 9, 15))
    inbound(c["c2"], at(0, 10, 30))
    inbound(c["c3"], at(1, 9, 40), sentiment=pos)
    outbound(c["c3"], at(1, 9, 42))
    for name, state in [
        ("c1", TimerState.MET),
        ("c2", TimerState.MET),
        ("c3", TimerState.MET),
        ("c5", TimerState.BREACHED),
    ]:
        first_response_timer(c[name], state)
    for name, score in [("c1", 5), ("c2", 2), ("c3", None)]:
        survey = CsatSurvey.objects.create(
            conversation=c[name], resolved_at=c[name].resolved_at, score=score
        )
        CsatSurvey.objects.filter(pk=survey.pk).update(
            sent_at=F("resolved_at") + timedelta(minutes=1)
        )
    auto_response = AutoResponse.objects.create(
        intent=Intent.QUESTION, template="Hi {handle}!", is_enabled=True
    )
    for name, label in [("c2", Intent.COMPLAINT), ("c4", Intent.COMPLAINT)]:
        first_post = c[name].posts.filter(direction=Direction.INBOUND).earliest("created_at")
        AutoReply.objects.create(
            post=first_post,
            reply=c[name].posts.filter(direction=Direction.OUTBOUND).earliest("created_at"),
            auto_response=auto_response,
            confidence=0.95,
        )
        predicted = Intent.COMPLAINT if name == "c2" else Intent.QUESTION
        TriageFeedback.objects.create(
            post=first_post, field=TriageFeedback.Field.INTENT, predicted=predicted, label=label
        )
    return Week(demo=demo, x=x, alice=alice, bob=bob, conversations=c)
