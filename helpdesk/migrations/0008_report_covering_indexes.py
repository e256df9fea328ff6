# The reports' indexes carry the columns the KPIs read (index-only scans on Postgres). Built
# CONCURRENTLY on Postgres, new ones before the old ones go, so a large posts table keeps
# taking writes and reads while they build; elsewhere (SQLite) plainly.

from django.db import migrations, models

from core.migration_operations import (
    AddIndexConcurrentlyOnPostgres,
    RemoveIndexConcurrentlyOnPostgres,
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('helpdesk', '0007_report_indexes'),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='conversation',
            index=models.Index(fields=['created_at'], include=('id', 'needs_reply', 'first_response_at', 'resolved_at', 'intent', 'assignee', 'account', 'team'), name='conversation_reports_idx'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='post',
            index=models.Index(fields=['direction', 'created_at'], include=('id', 'conversation', 'platform', 'sentiment'), name='post_period_reports_idx'),
        ),
        RemoveIndexConcurrentlyOnPostgres(
            model_name='conversation',
            name='conversation_created_idx',
        ),
        RemoveIndexConcurrentlyOnPostgres(
            model_name='post',
            name='post_direction_created_idx',
        ),
    ]
