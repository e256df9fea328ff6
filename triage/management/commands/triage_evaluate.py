"""`manage.py triage_evaluate --data FILE.csv --task …`: measure a model, print JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from triage.datasets import DatasetError
from triage.models import Task
from triage.training import evaluate_model


class Command(BaseCommand):
    help = (
        "Evaluate a triage model (default: the active one) on a labelled CSV (text,label): "
        "the tags agents would see (intent after triage's checks), accuracy, macro-F1, "
        "macro-recall, per-class precision/recall/F1, confusion matrix, the share of each "
        "true class tagged 'Spam / no reply needed', batch and one-at-a-time ms per post."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True)
        parser.add_argument("--task", required=True, choices=Task.values)
        parser.add_argument("--model", default=None, help="A model version; default: active.")
        parser.add_argument("--text-col", default="text")
        parser.add_argument("--label-col", default="label")

    def handle(self, *args, **options):
        try:
            report = evaluate_model(
                task=options["task"],
                data=options["data"],
                version=options["model"],
                text_col=options["text_col"],
                label_col=options["label_col"],
            )
        except DatasetError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(report, indent=2))
