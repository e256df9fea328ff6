"""The domain models move here from `helpdesk` (and CustomerTurn from `reports`), keeping
their tables: Django's state learns of them, the database is not touched. Content types (and
with them permissions, audit log entries) are renamed so existing grants and history follow."""

import core.fields
import django.db.models.deletion
import django.db.models.functions.text
import uuid
from django.conf import settings
from django.db import migrations, models


MOVED = {
    "helpdesk": [
        "team",
        "agentprofile",
        "tag",
        "customer",
        "conversation",
        "post",
        "note",
        "replytemplate",
        "replytemplatevariant",
        "integrationwebhook",
        "integrationdelivery",
    ],
    "reports": ["customerturn"],
}


def _rename_content_types(apps, old_to_new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old_app, models in MOVED.items():
        source, target = old_to_new(old_app)
        ContentType.objects.filter(app_label=source, model__in=models).update(app_label=target)


def rename_content_types(apps, schema_editor):
    _rename_content_types(apps, lambda old_app: (old_app, "core"))


def rename_content_types_back(apps, schema_editor):
    _rename_content_types(apps, lambda old_app: ("core", old_app))


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The tables were created by these; on a fresh database they run first.
        ('helpdesk', '0011_conversation_snoozed_index'),
        ('reports', '0002_customer_turns'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('ingestion', '0006_webhook_delivery_claims'),
        ('routing', '0002_routingrule_account_routingrule_add_tags_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay as they are: only Django's state changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='IntegrationWebhook',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('url', models.URLField(max_length=500)),
                        ('secret', core.fields.EncryptedJSONField(blank=True, default=dict, help_text="{'key': …}: the HMAC-SHA256 signing key.")),
                        ('events', models.JSONField(default=list, help_text='Event names; empty means all.')),
                        ('is_active', models.BooleanField(default=True)),
                    ],
                    options={
                        'db_table': 'helpdesk_integrationwebhook',
                    },
                ),
                migrations.CreateModel(
                    name='ReplyTemplate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('body', models.TextField()),
                    ],
                    options={
                        'db_table': 'helpdesk_replytemplate',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Tag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=50, unique=True)),
                    ],
                    options={
                        'db_table': 'helpdesk_tag',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Customer',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('platform', models.CharField(choices=[('demo', 'Demo'), ('twitter', 'X / Twitter'), ('facebook', 'Facebook'), ('instagram', 'Instagram')], max_length=20)),
                        ('external_id', models.CharField(max_length=100)),
                        ('handle', models.CharField(max_length=100)),
                        ('display_name', models.CharField(blank=True, max_length=200)),
                        ('follower_count', models.PositiveIntegerField(default=0)),
                        ('is_verified', models.BooleanField(default=False)),
                        ('first_seen_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'helpdesk_customer',
                        'indexes': [models.Index(django.db.models.functions.text.Lower('handle'), name='customer_handle_lower_idx')],
                        'constraints': [models.UniqueConstraint(fields=('platform', 'external_id'), name='customer_unique_per_platform')],
                    },
                ),
                migrations.CreateModel(
                    name='Conversation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('new', 'New'), ('open', 'Open'), ('pending', 'Pending customer'), ('resolved', 'Resolved'), ('closed', 'Closed')], default='new', max_length=10)),
                        ('priority', models.PositiveSmallIntegerField(choices=[(0, 'Low'), (1, 'Normal'), (2, 'High'), (3, 'Urgent')], default=1)),
                        ('intent', models.CharField(blank=True, choices=[('', 'Not triaged'), ('question', 'Question'), ('request', 'Request'), ('complaint', 'Complaint'), ('compliment', 'Compliment'), ('feedback', 'Feedback'), ('spam', 'Spam / no reply needed'), ('other', 'Other')], max_length=20)),
                        ('sentiment', models.CharField(blank=True, choices=[('', 'Not triaged'), ('negative', 'Negative'), ('neutral', 'Neutral'), ('positive', 'Positive')], max_length=10)),
                        ('needs_reply', models.BooleanField(default=True, help_text='False when a routing rule decided no answer is needed.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('last_inbound_at', models.DateTimeField(blank=True, null=True)),
                        ('first_response_due_at', models.DateTimeField(blank=True, null=True)),
                        ('first_response_at', models.DateTimeField(blank=True, null=True)),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('snoozed_until', models.DateTimeField(blank=True, help_text='Hidden from the queue until then, unless the customer writes.', null=True)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='conversations', to='ingestion.platformaccount')),
                        ('assignee', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_conversations', to=settings.AUTH_USER_MODEL)),
                        ('routed_by', models.ForeignKey(blank=True, help_text='The routing rule that chose the team; empty when the default queue did.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='routing.routingrule')),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='conversations', to='core.customer')),
                        ('tags', models.ManyToManyField(blank=True, related_name='conversations', to='core.tag')),
                    ],
                    options={
                        'db_table': 'helpdesk_conversation',
                        'permissions': [('view_all_conversations', "Can see every team's conversations")],
                    },
                ),
                migrations.CreateModel(
                    name='Note',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('text', models.TextField()),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('author', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='core.conversation')),
                        ('mentions', models.ManyToManyField(blank=True, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'helpdesk_note',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Post',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('direction', models.CharField(choices=[('inbound', 'From the customer'), ('outbound', 'From the brand')], max_length=10)),
                        ('platform', models.CharField(choices=[('demo', 'Demo'), ('twitter', 'X / Twitter'), ('facebook', 'Facebook'), ('instagram', 'Instagram')], max_length=20)),
                        ('external_id', models.CharField(blank=True, max_length=100, null=True)),
                        ('text', models.TextField()),
                        ('in_reply_to', models.CharField(blank=True, help_text='External id of the post this one answers.', max_length=100)),
                        ('created_at', models.DateTimeField(help_text='When the post was made on the platform.')),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                        ('raw', models.JSONField(blank=True, default=dict)),
                        ('is_private', models.BooleanField(default=False, help_text='An outbound private message (DM, Messenger), not a public reply.')),
                        ('delivery_status', models.CharField(choices=[('received', 'Received'), ('pending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed')], default='received', max_length=10)),
                        ('delivery_error', models.TextField(blank=True)),
                        ('idempotency_key', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('intent', models.CharField(blank=True, choices=[('', 'Not triaged'), ('question', 'Question'), ('request', 'Request'), ('complaint', 'Complaint'), ('compliment', 'Compliment'), ('feedback', 'Feedback'), ('spam', 'Spam / no reply needed'), ('other', 'Other')], max_length=20)),
                        ('sentiment', models.CharField(blank=True, choices=[('', 'Not triaged'), ('negative', 'Negative'), ('neutral', 'Neutral'), ('positive', 'Positive')], max_length=10)),
                        ('priority', models.PositiveSmallIntegerField(choices=[(0, 'Low'), (1, 'Normal'), (2, 'High'), (3, 'Urgent')], default=1)),
                        ('triage_confidence', models.FloatField(blank=True, null=True)),
                        ('triage_reasons', models.JSONField(blank=True, default=list)),
                        ('account', models.ForeignKey(blank=True, db_index=False, help_text='The brand account the post was received on or sent from.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ingestion.platformaccount')),
                        ('agent', models.ForeignKey(blank=True, help_text='The author of an outbound reply.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='posts', to='core.conversation')),
                        ('customer', models.ForeignKey(blank=True, help_text='The author of an inbound post.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='posts', to='core.customer')),
                    ],
                    options={
                        'db_table': 'helpdesk_post',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='CustomerTurn',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('started_at', models.DateTimeField(help_text="When the customer posted (the post's time).")),
                        ('answered_at', models.DateTimeField(blank=True, help_text="The brand's first reply at or after the start.", null=True)),
                        ('conversation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='customer_turns', to='core.conversation')),
                        ('post', models.OneToOneField(help_text='The inbound post that opened the turn.', on_delete=django.db.models.deletion.CASCADE, related_name='customer_turn', to='core.post')),
                    ],
                    options={
                        'db_table': 'reports_customerturn',
                    },
                ),
                migrations.CreateModel(
                    name='ReplyTemplateVariant',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('platform', models.CharField(choices=[('demo', 'Demo'), ('twitter', 'X / Twitter'), ('facebook', 'Facebook'), ('instagram', 'Instagram')], max_length=20)),
                        ('body', models.TextField()),
                        ('template', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='variants', to='core.replytemplate')),
                    ],
                    options={
                        'db_table': 'helpdesk_replytemplatevariant',
                    },
                ),
                migrations.CreateModel(
                    name='Team',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('slug', models.SlugField(max_length=100, unique=True)),
                        ('is_default', models.BooleanField(default=False, help_text='Catches every conversation no routing rule sends elsewhere.')),
                        ('assignment_strategy', models.CharField(choices=[('manual', 'Manual: agents pick from the queue'), ('round_robin', 'Round-robin among online agents'), ('least_loaded', 'Least-loaded online agent')], default='manual', max_length=20)),
                    ],
                    options={
                        'db_table': 'helpdesk_team',
                        'ordering': ['name'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='one_default_team')],
                    },
                ),
                migrations.AddField(
                    model_name='replytemplate',
                    name='team',
                    field=models.ForeignKey(blank=True, help_text='Empty: offered to every team.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reply_templates', to='core.team'),
                ),
                migrations.AddField(
                    model_name='conversation',
                    name='team',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='conversations', to='core.team'),
                ),
                migrations.CreateModel(
                    name='AgentProfile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('capacity', models.PositiveSmallIntegerField(default=10, help_text='How many open conversations this agent can hold at once.')),
                        ('is_online', models.BooleanField(default=False)),
                        ('last_assigned_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='agent_profile', to=settings.AUTH_USER_MODEL)),
                        ('teams', models.ManyToManyField(blank=True, related_name='agents', to='core.team')),
                    ],
                    options={
                        'db_table': 'helpdesk_agentprofile',
                    },
                ),
                migrations.CreateModel(
                    name='IntegrationDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event', models.CharField(choices=[('conversation.created', 'Conversation created'), ('conversation.assigned', 'Conversation assigned'), ('conversation.resolved', 'Conversation resolved'), ('sla.breached', 'SLA breached')], max_length=40)),
                        ('payload', models.JSONField()),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('webhook', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='core.integrationwebhook')),
                    ],
                    options={
                        'db_table': 'helpdesk_integrationdelivery',
                        'indexes': [models.Index(fields=['delivered_at', 'next_attempt_at'], name='helpdesk_in_deliver_9677aa_idx')],
                    },
                ),
                migrations.AddIndex(
                    model_name='post',
                    index=models.Index(fields=['conversation', 'created_at'], name='helpdesk_po_convers_8f1ec5_idx'),
                ),
                migrations.AddIndex(
                    model_name='post',
                    index=models.Index(fields=['direction', 'created_at'], include=('id', 'conversation', 'platform', 'account', 'sentiment'), name='post_period_reports_v2_idx'),
                ),
                migrations.AddIndex(
                    model_name='post',
                    index=models.Index(fields=['conversation', 'direction', 'created_at'], name='post_conv_direction_idx'),
                ),
                migrations.AddConstraint(
                    model_name='post',
                    constraint=models.UniqueConstraint(fields=('platform', 'external_id'), name='post_unique_per_platform'),
                ),
                migrations.AddIndex(
                    model_name='customerturn',
                    index=models.Index(fields=['started_at'], include=('conversation', 'answered_at'), name='customer_turn_started_idx'),
                ),
                migrations.AddConstraint(
                    model_name='replytemplatevariant',
                    constraint=models.UniqueConstraint(fields=('template', 'platform'), name='one_variant_per_platform'),
                ),
                migrations.AddIndex(
                    model_name='conversation',
                    index=models.Index(fields=['team', 'status', 'first_response_due_at'], name='helpdesk_co_team_id_c3ae47_idx'),
                ),
                migrations.AddIndex(
                    model_name='conversation',
                    index=models.Index(fields=['assignee', 'status'], name='helpdesk_co_assigne_781bc4_idx'),
                ),
                migrations.AddIndex(
                    model_name='conversation',
                    index=models.Index(fields=['customer', 'account', 'status'], name='helpdesk_co_custome_eed7bf_idx'),
                ),
                migrations.AddIndex(
                    model_name='conversation',
                    index=models.Index(condition=models.Q(('snoozed_until__isnull', False)), fields=['snoozed_until'], name='conversation_snoozed_idx'),
                ),
                migrations.AddIndex(
                    model_name='conversation',
                    index=models.Index(fields=['created_at'], include=('id', 'needs_reply', 'first_response_at', 'resolved_at', 'intent', 'assignee', 'account', 'team'), name='conversation_reports_idx'),
                ),
            ],
        ),
        migrations.RunPython(rename_content_types, rename_content_types_back),
    ]
