"""Triage cost: ms per post of Parley's `triage_post`, against the bare `pipeline.predict` of
the same models on the same posts, one post at a time as ingestion calls it.

The models are found through the triage app's public interface (`triage.store.current_model`
for each task); with a triage that exposes no model (the keyword rules) only Parley's cost is
reported and the ratio is left empty.
"""

from __future__ import annotations

import time

from django.db import transaction

from . import data
from .common import ensure_fixtures, reset_traffic

TASKS = ("intent", "sentiment")


def exposed_pipelines() -> dict:
    try:
        from triage.store import current_model
    except ImportError:
        return {}
    return {task: current_model(task).pipeline for task in TASKS}


def run(*, posts: int) -> dict:
    from helpdesk.models import Direction, Platform, Post
    from triage.services import triage_post

    team, agent, _, account = ensure_fixtures()
    reset_traffic()
    context = data.HistoryContext(
        account_id=account.pk,
        platform=Platform.TWITTER,
        team_id=team.pk,
        agent_id=agent.pk,
        intents=["question"],
        sentiments=["neutral"],
    )
    data.bulk_history(posts=posts * 2, context=context, progress=False)
    sample = list(
        Post.objects.filter(direction=Direction.INBOUND).select_related("customer")[:posts]
    )
    texts = [post.text for post in sample]
    pipelines = exposed_pipelines()

    with transaction.atomic():
        triage_post(sample[0])  # loads the models, as the first post in a worker does
        started = time.perf_counter()
        for post in sample:
            triage_post(post)
        parley = (time.perf_counter() - started) * 1000 / len(sample)
        # Nothing triaged here is kept, nor any auto-reply it would queue.
        transaction.set_rollback(True)
    reset_traffic()

    result = {
        "benchmark": "triage",
        "triage_posts": len(sample),
        "triage_ms_per_post": round(parley, 4),
        "baseline": "bare pipeline.predict of each model, one post at a time",
        "triage_models": sorted(pipelines),
    }
    if not pipelines:
        result["note"] = "this triage exposes no scikit-learn model: no baseline to compare"
        return result
    started = time.perf_counter()
    for text in texts:
        for pipeline in pipelines.values():
            pipeline.predict([text])
    bare = (time.perf_counter() - started) * 1000 / len(texts)
    started = time.perf_counter()
    for pipeline in pipelines.values():
        pipeline.predict(texts)
    batched = (time.perf_counter() - started) * 1000 / len(texts)
    result.update(
        {
            "bare_predict_ms_per_post": round(bare, 4),
            "batched_predict_ms_per_post": round(batched, 4),
            "triage_ratio_to_bare_predict": round(parley / bare, 3),
        }
    )
    return result
