"""A webhook body is kept once per platform, by a unique constraint (the group commit then
inserts with ON CONFLICT DO NOTHING instead of looking for the body first).

Two web processes could store the same body at once before: the copies are the same
delivery, so all but the first (lowest id) are deleted before the constraint is added. The
posts a deleted copy produced stay (they are stored once by platform and external id);
a copy still pending is processed through the one kept.
"""

from django.db import migrations, models
from django.db.models import Count, Min


def delete_repeated_bodies(apps, schema_editor):
    WebhookDelivery = apps.get_model("ingestion", "WebhookDelivery")
    repeated = (
        WebhookDelivery.objects.exclude(body_sha256="")
        .values("platform", "body_sha256")
        .annotate(copies=Count("id"), first=Min("id"))
        .filter(copies__gt=1)
    )
    for group in repeated.iterator():
        WebhookDelivery.objects.filter(
            platform=group["platform"], body_sha256=group["body_sha256"]
        ).exclude(pk=group["first"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0008_customer_profile"),
    ]

    operations = [
        migrations.RunPython(delete_repeated_bodies, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("body_sha256", ""), _negated=True),
                fields=("platform", "body_sha256"),
                name="webhook_delivery_once_per_body",
            ),
        ),
    ]
