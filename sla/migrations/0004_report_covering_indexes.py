# For the reports' share of first responses within target; built CONCURRENTLY on Postgres so
# the timers table keeps taking writes (see helpdesk 0008), plainly elsewhere.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('sla', '0003_seed_best_practice_policies'),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='slatimer',
            index=models.Index(condition=models.Q(('kind', 'first_response'), ('stopped_at__isnull', False)), fields=['conversation'], include=('id', 'state'), name='sla_first_response_done_idx'),
        ),
    ]
