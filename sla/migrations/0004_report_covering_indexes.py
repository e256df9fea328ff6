# For the reports' share of first responses within target; built CONCURRENTLY on Postgres so
# the timers table keeps taking writes (see helpdesk 0008), plainly elsewhere.

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrentlyOnPostgres


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
