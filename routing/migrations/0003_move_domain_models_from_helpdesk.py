"""Foreign keys to the domain models follow them to `core` (core 0001): state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_move_domain_models_from_helpdesk'),
        ('routing', '0002_routingrule_account_routingrule_add_tags_and_more'),
    ]

    operations = [
        # The tables stay as they are: only Django's state changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='routingrule',
                    name='team',
                    field=models.ForeignKey(blank=True, help_text='Empty sends to the default queue.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='routing_rules', to='core.team'),
                ),
            ],
        ),
    ]
