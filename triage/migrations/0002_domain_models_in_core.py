"""Foreign keys to the domain models follow them to `core` (core 0001): state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_move_domain_models_from_helpdesk'),
        ('triage', '0001_initial'),
    ]

    operations = [
        # The tables stay as they are: only Django's state changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='autoreply',
                    name='post',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='auto_reply', to='core.post'),
                ),
                migrations.AlterField(
                    model_name='autoreply',
                    name='reply',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.post'),
                ),
                migrations.AlterField(
                    model_name='triagefeedback',
                    name='post',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='triage_feedback', to='core.post'),
                ),
            ],
        ),
    ]
