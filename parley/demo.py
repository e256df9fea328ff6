"""The demo set-up `make run` loads: teams, agents, a demo platform account, a rule, a policy,
reply templates and a macro."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from core import roles
from core.models import AgentProfile, Intent, Platform, Priority, ReplyTemplate, Team
from helpdesk.models import Macro, MacroAssign
from ingestion.models import PlatformAccount
from routing.models import RoutingRule
from sla.models import SlaPolicy

DEMO_BRAND_HANDLE = "parley_demo"

# What an agent's first hour in the demo reaches for: answers to the feed's usual posts
# (praise, a late parcel, an address change, an outage), each within the demo's 280
# characters. Team None: offered to every team. The intent: suggested first for posts of it.
DEMO_REPLY_TEMPLATES = (
    (
        "Thanks for the kind words",
        None,
        Intent.COMPLIMENT,
        "Thank you, {{ customer.first_name }}! We have passed your message on to the team. "
        "^{{ agent.first_name }}",
    ),
    (
        "Sorry, send us a DM",
        None,
        Intent.COMPLAINT,
        "Hi {{ customer.first_name }}, sorry about this. Could you send us a DM with your order "
        "number? We will look into it right away. ^{{ agent.first_name }}",
    ),
    (
        "Change of delivery address",
        "customer-care",
        Intent.QUESTION,
        "Hi {{ customer.first_name }}, you can change the address under Orders > Edit address "
        "until the parcel ships. If it has left already, DM us the order number and we will "
        "reroute it. ^{{ agent.first_name }}",
    ),
    (
        "Known outage",
        "priority-care",
        Intent.COMPLAINT,
        "Hi {{ customer.first_name }}, we know about the outage and our engineers are on it. "
        "Updates follow on {{ brand.handle }}; sorry for the trouble. ^{{ agent.first_name }}",
    ),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


@transaction.atomic
def seed_demo(
    *, admin_password: str, agent_password: str, supervisor_password: str = "parley-supervisor"
) -> list[DemoLogin]:
    """Create (or bring back) the demo data. Safe to run on every start."""
    care, _ = Team.objects.get_or_create(
        slug="customer-care", defaults={"name": "Customer care", "is_default": True}
    )
    priority_care, _ = Team.objects.get_or_create(
        slug="priority-care", defaults={"name": "Priority care"}
    )
    PlatformAccount.objects.get_or_create(
        platform=Platform.DEMO,
        handle=DEMO_BRAND_HANDLE,
        # Polled at every beat tick, so the demo inbox fills as the feed produces posts.
        defaults={"display_name": "Parley demo brand", "poll_interval_seconds": 5},
    )
    RoutingRule.objects.get_or_create(
        name="Urgent, influencers and angry complaints",
        defaults={"position": 10, "min_priority": Priority.HIGH, "team": priority_care},
    )
    SlaPolicy.objects.get_or_create(
        name="Best practice: first answer within 15 minutes",
        defaults={"position": 100, "first_response_minutes": 15},
    )
    teams = {team.slug: team for team in (care, priority_care)}
    templates = {
        name: ReplyTemplate.objects.get_or_create(
            name=name, defaults={"team": teams.get(team_slug), "intent": intent, "body": body}
        )[0]
        for name, team_slug, intent, body in DEMO_REPLY_TEMPLATES
    }
    Macro.objects.get_or_create(
        name="Ask for the order number",
        defaults={
            "template": templates["Sorry, send us a DM"],
            "add_tag": "needs-order-number",
            "set_status": "pending",
            "assign": MacroAssign.ME,
        },
    )

    User = get_user_model()
    admin, _ = User.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True}
    )
    admin.set_password(admin_password)
    admin.save()
    agent, _ = User.objects.get_or_create(username="agent", defaults={"first_name": "Dana"})
    agent.set_password(agent_password)
    agent.save()
    agent.groups.add(Group.objects.get(name=roles.AGENT))
    profile, _ = AgentProfile.objects.get_or_create(user=agent, defaults={"is_online": True})
    profile.teams.add(care, priority_care)
    supervisor, _ = User.objects.get_or_create(
        username="supervisor", defaults={"first_name": "Sam", "is_staff": True}
    )
    supervisor.set_password(supervisor_password)
    supervisor.save()
    supervisor.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    supervisor_profile, _ = AgentProfile.objects.get_or_create(
        user=supervisor, defaults={"is_online": True}
    )
    supervisor_profile.teams.add(care, priority_care)
    return [
        DemoLogin("agent", agent_password, "agent (Customer care, Priority care)"),
        DemoLogin("supervisor", supervisor_password, "supervisor (every team, SLA alerts)"),
        DemoLogin("admin", admin_password, "admin (sees every team, Django admin)"),
    ]
