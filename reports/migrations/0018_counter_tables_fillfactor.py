"""Free room on the pages of the tables the reports' triggers update in place most (issue #21),
so an update of a counter row can be a HOT update on its own page (no index entry, the old
version pruned in-page on a later visit) instead of a new tuple on another page that only
VACUUM frees, and a month's read does not scan the dead ones. After the scale benchmark's
bulk loads (fill factor 100) the weekly histograms held ~8.5 k live rows on 754 pages, the
conversation roll-up 15.5 k on ~570 (219 once compacted).

Each weekly row is moved by every statement touching any of its seven days: half of each page
is left free. The conversation roll-up keeps 30 %. The daily histograms and the inbound
roll-up were tried at 70 and came out larger after the same loads (892 pages against 796,
61 against 45): a bulk statement moves most rows of a page at once, more than the room left,
so they keep the default. PostgreSQL only; existing pages keep their fill until rewritten.
"""

from django.db import migrations

FILLFACTOR = {
    "reports_durationweekly": 50,
    "reports_conversationhourly": 70,
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, fillfactor in FILLFACTOR.items():
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})", params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in FILLFACTOR:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)", params=None)


class Migration(migrations.Migration):
    dependencies = [("reports", "0017_duration_weekly_histogram")]

    operations = [migrations.RunPython(forward, backward)]
