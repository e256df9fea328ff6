"""Foreign keys to the domain models follow them to `core` (core 0001): state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_move_domain_models_from_helpdesk'),
        ('reports', '0002_customer_turns'),
    ]

    operations = [
        # The tables stay as they are: only Django's state changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='csatsurvey',
                    name='conversation',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='csat_surveys', to='core.conversation'),
                ),
                migrations.AlterField(
                    model_name='csatsurvey',
                    name='message',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.post'),
                ),
                migrations.AlterField(
                    model_name='spikealert',
                    name='post',
                    field=models.OneToOneField(blank=True, help_text='The post going viral (viral alerts only).', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='viral_alert', to='core.post'),
                ),
                migrations.DeleteModel(
                    name='CustomerTurn',
                ),
            ],
        ),
    ]
