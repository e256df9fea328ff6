"""Encrypt every stored secret again with the first of FIELD_ENCRYPTION_KEYS: the step of a
key rotation after which the older keys (and SECRET_KEY's) can go (docs/operations.md)."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from core.fields import EncryptedJSONField


class Command(BaseCommand):
    help = (
        "Re-encrypt platform tokens and webhook secrets with the newest FIELD_ENCRYPTION_KEYS key."
    )

    def handle(self, *args, **options):
        rewritten, unreadable = 0, []
        for model in apps.get_models():
            fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedJSONField)]
            if not fields:
                continue
            for pk in model._default_manager.values_list("pk", flat=True).iterator():
                try:
                    values = model._default_manager.filter(pk=pk).values(*fields).get()
                except Exception as error:  # a key that decrypted it was removed too early
                    unreadable.append(f"{model._meta.label} #{pk}: {type(error).__name__}")
                    continue
                # update() encrypts each value with the first key.
                model._default_manager.filter(pk=pk).update(**values)
                rewritten += 1
        self.stdout.write(f"Re-encrypted {rewritten} row(s) with the newest key.")
        if unreadable:
            raise CommandError(
                "Not readable with any listed key (put the old key back in "
                "FIELD_ENCRYPTION_KEYS, after the new one):\n" + "\n".join(unreadable)
            )
