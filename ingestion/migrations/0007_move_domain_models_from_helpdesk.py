"""Foreign keys to the domain models follow them to `core` (core 0001): state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_move_domain_models_from_helpdesk'),
        ('ingestion', '0006_webhook_delivery_claims'),
    ]

    operations = [
        # The tables stay as they are: only Django's state changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='customerlink',
                    name='customer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.customer'),
                ),
                migrations.AlterField(
                    model_name='customerlink',
                    name='other',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.customer'),
                ),
                migrations.AlterField(
                    model_name='replyattempt',
                    name='post',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='reply_attempt', to='core.post'),
                ),
            ],
        ),
    ]
