"""Tasks that moved module when helpdesk was split (core, ingestion) changed name: dead
letters recorded under the old names are renamed, so they can still be replayed."""

from django.db import migrations

RENAMED = {
    "helpdesk.tasks.process_inbound_post": "ingestion.tasks.process_inbound_post",
    "helpdesk.tasks.process_inbound_posts": "ingestion.tasks.process_inbound_posts",
    "helpdesk.tasks.deliver_integration_event": "core.tasks.deliver_integration_event",
    "helpdesk.tasks.retry_integration_events": "core.tasks.retry_integration_events",
    "reliability.tasks.requeue_stranded_work": "ingestion.tasks.requeue_stranded_work",
}


def _rename(apps, names):
    DeadLetter = apps.get_model("reliability", "DeadLetter")
    for old, new in names.items():
        DeadLetter.objects.filter(task_name=old).update(task_name=new)


def rename_forwards(apps, schema_editor):
    _rename(apps, RENAMED)


def rename_backwards(apps, schema_editor):
    _rename(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [("reliability", "0001_initial")]

    operations = [migrations.RunPython(rename_forwards, rename_backwards)]
