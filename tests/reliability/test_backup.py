"""The backup procedure of docs/backup.md: a pg_dump restored into a fresh database holds
every conversation, with its posts."""

import shutil
import subprocess

import psycopg
import pytest
from django.db import connection

from tests.factories import ConversationFactory, PostFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _conninfo(name: str) -> str:
    settings_dict = connection.settings_dict
    return (
        f"host={settings_dict['HOST']} port={settings_dict['PORT'] or 5432} "
        f"user={settings_dict['USER']} dbname={name}"
    )


@pytest.fixture
def restore_target():
    name = f"{connection.settings_dict['NAME']}_restore"
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="needs pg_dump and pg_restore")
def test_a_restored_dump_holds_every_conversation_and_post(
    demo_account, default_team, restore_target, tmp_path
):
    conversations = [ConversationFactory(account=demo_account) for _ in range(5)]
    for conversation in conversations:
        PostFactory.create_batch(2, conversation=conversation)
    settings_dict = connection.settings_dict
    server = ["-h", settings_dict["HOST"], "-p", str(settings_dict["PORT"] or 5432)]
    server += ["-U", settings_dict["USER"]]
    dump = tmp_path / "parley.dump"

    subprocess.run(
        ["pg_dump", *server, "--format=custom", f"--file={dump}", settings_dict["NAME"]],
        check=True,
    )
    subprocess.run(
        ["pg_restore", *server, "--no-owner", "--exit-on-error", f"--dbname={restore_target}",
         str(dump)],
        check=True,
    )  # fmt: skip

    with psycopg.connect(_conninfo(restore_target)) as restored:
        ids = {row[0] for row in restored.execute("SELECT id FROM helpdesk_conversation")}
        posts = restored.execute("SELECT count(*) FROM helpdesk_post").fetchone()[0]
        migrated = restored.execute(
            "SELECT count(*) FROM django_migrations WHERE app = 'reliability'"
        ).fetchone()[0]
    assert ids == {conversation.pk for conversation in conversations}
    assert posts == 10
    assert migrated >= 1
