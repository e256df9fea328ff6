"""Seed the best-practice SLA policies: first answer within 15 minutes everywhere, basic
queries resolved within an hour, complaints within 24 hours."""

from django.db import migrations

# Positions leave room for a brand's own policies before, between and after.
DEFAULTS = [
    {
        "name": "Complaints: resolved within 24 hours",
        "position": 50,
        "intent": "complaint",
        "first_response_minutes": 15,
        "next_response_minutes": 15,
        "resolution_minutes": 24 * 60,
    },
    {
        # Same name as the demo seed, so `seed_demo` finds it instead of adding a twin.
        "name": "Best practice: first answer within 15 minutes",
        "position": 100,
        "first_response_minutes": 15,
        "next_response_minutes": 15,
        "resolution_minutes": 60,
    },
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    for values in DEFAULTS:
        SlaPolicy.objects.get_or_create(name=values["name"], defaults=values)


def unseed(apps, schema_editor):
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    SlaPolicy.objects.filter(name__in=[values["name"] for values in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_service_windows_policies_timers")]

    operations = [migrations.RunPython(seed, unseed)]
