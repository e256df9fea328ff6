"""`manage.py triage_train --data FILE.csv --task intent|sentiment`: train and store a model."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from triage.datasets import DatasetError
from triage.models import Task
from triage.training import train_model

STEPS = 5  # reading, holding out, fitting, measuring, saving


class Command(BaseCommand):
    help = "Train a triage classifier on a labelled CSV and store it as a new model version."

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="CSV with a text and a label column.")
        parser.add_argument("--task", required=True, choices=Task.values)
        parser.add_argument("--text-col", default="text")
        parser.add_argument("--label-col", default="label")
        parser.add_argument(
            "--include-feedback",
            action="store_true",
            help="Add the agents' corrections and confirmations as training examples.",
        )
        parser.add_argument(
            "--holdout",
            default=None,
            help="A separate held-out CSV to measure on; then all of --data is used to fit. "
            "Default: hold out 20%% of --data.",
        )
        parser.add_argument(
            "--activate", action="store_true", help="Make the new model the active one."
        )
        parser.add_argument(
            "--ship",
            action="store_true",
            help="Write the shipped default (triage/data/models) instead of a stored version.",
        )

    def handle(self, *args, **options):
        with tqdm(total=STEPS, desc=f"triage_train {options['task']}", file=self.stderr) as bar:

            def progress(step: str) -> None:
                bar.set_postfix_str(step)
                bar.update(1)

            try:
                result = train_model(
                    task=options["task"],
                    data=options["data"],
                    text_col=options["text_col"],
                    label_col=options["label_col"],
                    include_feedback=options["include_feedback"],
                    holdout=options["holdout"],
                    activate=options["activate"],
                    ship=options["ship"],
                    progress=progress,
                )
            except DatasetError as error:
                raise CommandError(f"{error} No model was saved.") from error
        summary = {
            "version": result.version,
            "training_size": result.training_size,
            "feedback_examples": result.feedback_examples,
            "held_out_accuracy": result.metrics["accuracy"],
            "held_out_macro_f1": result.metrics["macro_f1"],
            "active": bool(result.model and result.model.is_active),
        }
        self.stdout.write(json.dumps(summary, indent=2))
