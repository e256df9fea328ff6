"""The live inbox's fan-out cost (issue 22 item 12): what each way of updating rows costs the
server for one batch of changed conversations (one ingest delivery's worth).

- `json_cards_ms`: the JSON cards the push carries today (helpdesk.selectors.conversation_cards),
  built once per batch whatever the number of agents.
- `fragment_render_ms`: the batch's rows rendered with the page's own card template, once:
  what pushing server-rendered fragments would cost per team group and batch. It cannot
  serve an agent under a search or a "mine" view without re-deciding membership per agent.
- `rows_request_ms`: one agent's GET /inbox/rows/ for the batch under a search (what the
  browser asks: the server filters, searches, sorts and renders for that agent; the browser
  also asks the view badges in the same request, `counts=1`, measured on the 100,000-open
  queue as `live_refresh_ms_at_100k_open` by the open_queue benchmark);
  `rows_request_ms_one` for a single changed conversation, `rows_request_queries` its SQL.
- `rows_fanout_ms`: rows_request_ms times the agents watching (server time per batch if all
  of them look at the changed team's queue), the figure to hold against the push's budget.

Baseline: the JSON cards (the push as it was). Measured in-process with Django's test client
(no network), the median of `repeat` runs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from .common import ensure_fixtures, median_ms, reset_traffic


def _conversations(account, count: int) -> list[int]:
    from ingestion.connectors import InboundAuthor, InboundItem
    from ingestion.services import ingest_item

    ids = []
    for index in range(count):
        item = InboundItem(
            external_id=f"fragments-{time.time_ns()}-{index}",
            author=InboundAuthor(external_id=f"fragments-author-{index}", handle=f"frag_{index}"),
            text=f"@brand my order {index} never arrived, can you help?",
            created_at=datetime.now(UTC),
        )
        ids.append(ingest_item(account=account, item=item).post.conversation_id)
    return ids


def run(*, batch: int, agents: int, repeat: int) -> dict:
    from core.models import Conversation
    from helpdesk.selectors import conversation_cards, inbox_rows

    reset_traffic()
    _team, agent, _admin, account = ensure_fixtures()
    ids = _conversations(account, batch)
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(agent)
    query = {"view": "team", "q": "order", "ids": ",".join(map(str, ids))}

    def rows(params: dict) -> None:
        response = client.get("/inbox/rows/", params)
        assert response.status_code == 200, response.content[:200]

    def fragments() -> None:
        rendered = inbox_rows(Conversation.objects.all(), ids=ids)
        render_to_string("helpdesk/_rows.html", {"conversations": rendered, "now": timezone.now()})

    json_cards_ms = median_ms(lambda: conversation_cards(ids), repeat=repeat)
    fragment_render_ms = median_ms(fragments, repeat=repeat)
    rows_request_ms = median_ms(lambda: rows(query), repeat=repeat)
    rows_request_ms_one = median_ms(lambda: rows({**query, "ids": str(ids[0])}), repeat=repeat)
    with CaptureQueriesContext(connection) as queries:
        rows(query)
    return {
        "benchmark": "inbox_fragments",
        "batch": batch,
        "agents": agents,
        "json_cards_ms": round(json_cards_ms, 2),
        "fragment_render_ms": round(fragment_render_ms, 2),
        "rows_request_ms": round(rows_request_ms, 2),
        "rows_request_ms_one": round(rows_request_ms_one, 2),
        "rows_request_queries": len(queries),
        "rows_fanout_ms": round(rows_request_ms * agents, 1),
        "baseline": "json_cards_ms",
        "ratio_fragment_to_json": round(fragment_render_ms / json_cards_ms, 2),
        "ratio_rows_request_to_json": round(rows_request_ms / json_cards_ms, 2),
    }
