"""The domain models left for `core` (core 0001): removed from this app's state only; their
tables, rows and indexes stay as they are, now owned by core."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('helpdesk', '0011_conversation_snoozed_index'),
        # Every foreign key to these models points at core's first.
        ('ingestion', '0007_move_domain_models_from_helpdesk'),
        ('reports', '0003_domain_models_in_core'),
        ('routing', '0003_move_domain_models_from_helpdesk'),
        ('sla', '0005_domain_models_in_core'),
        ('triage', '0002_domain_models_in_core'),
    ]

    operations = [
        # The tables stay as they are: only Django's state changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='conversation',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='conversation',
                    name='assignee',
                ),
                migrations.RemoveField(
                    model_name='conversation',
                    name='customer',
                ),
                migrations.RemoveField(
                    model_name='conversation',
                    name='routed_by',
                ),
                migrations.RemoveField(
                    model_name='conversation',
                    name='tags',
                ),
                migrations.RemoveField(
                    model_name='conversation',
                    name='team',
                ),
                migrations.RemoveField(
                    model_name='post',
                    name='conversation',
                ),
                migrations.RemoveField(
                    model_name='note',
                    name='conversation',
                ),
                migrations.RemoveField(
                    model_name='post',
                    name='customer',
                ),
                migrations.RemoveField(
                    model_name='integrationdelivery',
                    name='webhook',
                ),
                migrations.RemoveField(
                    model_name='note',
                    name='author',
                ),
                migrations.RemoveField(
                    model_name='note',
                    name='mentions',
                ),
                migrations.RemoveField(
                    model_name='post',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='post',
                    name='agent',
                ),
                migrations.RemoveField(
                    model_name='replytemplate',
                    name='team',
                ),
                migrations.RemoveField(
                    model_name='replytemplatevariant',
                    name='template',
                ),
                migrations.DeleteModel(
                    name='AgentProfile',
                ),
                migrations.DeleteModel(
                    name='Tag',
                ),
                migrations.DeleteModel(
                    name='Conversation',
                ),
                migrations.DeleteModel(
                    name='Customer',
                ),
                migrations.DeleteModel(
                    name='IntegrationDelivery',
                ),
                migrations.DeleteModel(
                    name='IntegrationWebhook',
                ),
                migrations.DeleteModel(
                    name='Note',
                ),
                migrations.DeleteModel(
                    name='Post',
                ),
                migrations.DeleteModel(
                    name='Team',
                ),
                migrations.DeleteModel(
                    name='ReplyTemplate',
                ),
                migrations.DeleteModel(
                    name='ReplyTemplateVariant',
                ),
            ],
        ),
    ]
