"""Foreign keys to the domain models follow them to `core` (core 0001): state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_move_domain_models_from_helpdesk'),
        ('sla', '0004_report_covering_indexes'),
    ]

    operations = [
        # The tables stay as they are: only Django's state changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='slapolicy',
                    name='reassign_team_on_breach',
                    field=models.ForeignKey(blank=True, help_text="Move a breached conversation to this team's queue (unassigned).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.team'),
                ),
                migrations.AlterField(
                    model_name='slatimer',
                    name='conversation',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sla_timers', to='core.conversation'),
                ),
            ],
        ),
    ]
