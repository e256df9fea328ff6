"""Celery entry points for the reports: thin, idempotent."""

from celery import shared_task

from . import services


@shared_task
def detect_spikes() -> int:
    """The beat tick: look for volume spikes on every account; returns alerts opened."""
    return len(services.detect_spikes())


@shared_task
def offer_csat_surveys() -> int:
    """The beat tick: send the survey message of each newly resolved conversation."""
    sent = 0
    for conversation_id in services.conversations_due_a_survey():
        if services.offer_csat_survey(conversation_id=conversation_id) is not None:
            sent += 1
    return sent


@shared_task
def send_weekly_report() -> int:
    """The hourly tick: mail last week's report to supervisors if not sent yet."""
    report = services.send_weekly_report()
    return report.recipients if report else 0


@shared_task
def send_scheduled_reports() -> int:
    """The hourly tick: mail each supervisor's scheduled reports whose period has ended."""
    return services.send_scheduled_reports()
