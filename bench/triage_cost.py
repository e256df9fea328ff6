"""Triage cost: ms per post of Parley's `triage_posts` on stored posts in batches of the
ingest batch size (one webhook delivery's posts), against the bare `pipeline.predict` of the
same models on the same batches.

The one-post-at-a-time figures (`triage_post` and a bare one-text predict per model) are
reported too, as extra keys: a single post still pays scikit-learn's fixed cost per call.

The models are found through the triage app's public interface (`triage.store.current_model`
for each task); with a triage that exposes no model (the keyword rules) only Parley's cost is
reported and the ratio is left empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from django.db import transaction

from . import data
from .common import ensure_fixtures, reset_traffic

TASKS = ("intent", "sentiment")
# The batched figures are the fastest of this many passes over the sample: on a shared
# machine the other jobs only ever add time, so the minimum is the truest cost.
ROUNDS = 3


def exposed_pipelines() -> dict:
    try:
        from triage.store import current_model
    except ImportError:
        return {}
    return {task: current_model(task).pipeline for task in TASKS}


def batches(items: Sequence, size: int) -> list[Sequence]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def ms_per_post(action: Callable[[], object], *, posts: int) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000 / posts


def run(*, posts: int, batch: int) -> dict:
    from core.models import Direction, Platform, Post
    from triage.services import triage_post, triage_posts

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
    post_batches = batches(sample, batch)
    text_batches = batches(texts, batch)
    pipelines = exposed_pipelines()

    def parley_batched() -> None:
        for posts_in_delivery in post_batches:
            triage_posts(posts_in_delivery)

    def parley_single() -> None:
        for post in sample:
            triage_post(post)

    def bare_batched() -> None:
        for texts_in_delivery in text_batches:
            for pipeline in pipelines.values():
                pipeline.predict(texts_in_delivery)

    def bare_single() -> None:
        for text in texts:
            for pipeline in pipelines.values():
                pipeline.predict([text])

    parley_rounds, bare_rounds = [], []
    with transaction.atomic():
        triage_post(sample[0])  # loads the models, as the first post in a worker does
        # Alternate Parley and the baseline so a burst of load elsewhere hits both alike.
        for _ in range(ROUNDS):
            parley_rounds.append(ms_per_post(parley_batched, posts=len(sample)))
            if pipelines:
                bare_rounds.append(ms_per_post(bare_batched, posts=len(sample)))
        single = ms_per_post(parley_single, posts=len(sample))
        # Nothing triaged here is kept, nor any auto-reply it would queue.
        transaction.set_rollback(True)
    reset_traffic()
    parley = min(parley_rounds)

    result = {
        "benchmark": "triage",
        "triage_posts": len(sample),
        "triage_batch_size": batch,
        "triage_ms_per_post": round(parley, 4),
        "single_post_triage_ms": round(single, 4),
        "baseline": f"bare pipeline.predict of each model on the same batches of {batch} posts",
        "triage_models": sorted(pipelines),
    }
    if not pipelines:
        result["note"] = "this triage exposes no scikit-learn model: no baseline to compare"
        return result
    bare = min(bare_rounds)
    bare_one = ms_per_post(bare_single, posts=len(texts))
    whole_sample = ms_per_post(
        lambda: [pipeline.predict(texts) for pipeline in pipelines.values()], posts=len(texts)
    )
    result.update(
        {
            "bare_predict_ms_per_post": round(bare, 4),
            "triage_ratio_to_bare_predict": round(parley / bare, 3),
            "bare_predict_single_ms_per_post": round(bare_one, 4),
            "single_post_ratio_to_bare_predict": round(single / bare_one, 3),
            # Both models on the whole sample in one call each: the floor batching approaches.
            "batched_predict_ms_per_post": round(whole_sample, 4),
        }
    )
    return result
