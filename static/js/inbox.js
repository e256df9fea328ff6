// Live inbox: listens on the inbox WebSocket and keeps the table up to date without a reload.
// A push only says which conversations changed; the server decides the rest. The page asks
// it (data-rows-url: /inbox/rows/ with the view, filters, search and sort on screen) for the
// rows of those conversations, rendered by the same template as the page: a row it sends is
// placed by the sort key it carries, a row it leaves out has stopped matching and leaves.
// So the browser keeps no copy of the card, the filters or the sort.
(function () {
  "use strict";

  const rows = document.getElementById("conversation-rows");
  const inbox = document.querySelector("section.inbox");
  if (!rows || !inbox || !window.ParleySocket) return;
  const t = window.gettext || function (s) { return s; };
  const liveStatus = document.getElementById("live-status");
  const emptyRow = rows.querySelector("tr.empty");
  const showMore = document.getElementById("show-more");
  const moreError = document.getElementById("show-more-error");
  // Changes a moment apart are asked for together; one request at a time, in order.
  const BATCH_MS = 150;
  const MAX_IDS = 100;
  const pending = new Set();
  let batchTimer = null;
  let asking = false;

  function setLive(state, label) {
    if (!liveStatus) return;
    liveStatus.dataset.state = state;
    liveStatus.textContent = label;
  }

  function sortKey(row) {
    try { return JSON.parse(row.dataset.sortKey || "[]"); } catch (error) { return []; }
  }

  // Keys are lists of numbers (helpdesk.selectors.inbox_sort_key): compared term by term.
  function comesBefore(a, b) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) return a[i] < b[i];
    }
    return false;
  }

  // Whether more rows follow the last one on screen ("Show more" offered): the list is cut
  // there, so a row that sorts after it belongs to a later page, not to the end of this one.
  function listIsCut() {
    return Boolean(showMore && !showMore.hidden);
  }

  function placeRow(row) {
    const key = sortKey(row);
    const next = Array.prototype.find.call(
      rows.querySelectorAll("tr[data-conversation-id]"),
      function (other) { return comesBefore(key, sortKey(other)); }
    );
    if (!next && listIsCut()) return;
    rows.insertBefore(row, next || emptyRow || null);
  }

  function showEmptyIfNone() {
    if (emptyRow) emptyRow.hidden = Boolean(rows.querySelector("tr[data-conversation-id]"));
  }

  // The server's answer for `ids`: rows it sent replace (or join) the list, the others leave.
  // What the agent was doing with a row (keyboard selection, bulk checkbox) stays with it.
  function applyRows(ids, html) {
    const template = document.createElement("template");
    template.innerHTML = html;  // server-rendered, escaped by Django's templates
    const sent = new Map();
    template.content.querySelectorAll("tr[data-conversation-id]").forEach(function (row) {
      sent.set(row.dataset.conversationId, row);
    });
    ids.forEach(function (id) {
      const existing = rows.querySelector('tr[data-conversation-id="' + id + '"]');
      const fresh = sent.get(String(id));
      if (existing) {
        if (fresh) {
          if (existing.classList.contains("selected")) fresh.classList.add("selected");
          const box = existing.querySelector("td.pick input");
          if (box && box.checked) fresh.querySelector("td.pick input").checked = true;
        }
        existing.remove();
      }
      if (fresh) {
        fresh.classList.add("fresh");
        placeRow(fresh);
      }
    });
    rowsChanged();
  }

  function rowsChanged() {
    showEmptyIfNone();
    refreshTimers();
    document.dispatchEvent(new CustomEvent("parley:rows-changed"));
  }

  // "Show more": the page after the last row on screen (its sort key is where it starts),
  // appended below; the link's own address is that page, for a browser without scripts.
  function loadMore(event) {
    event.preventDefault();
    if (showMore.getAttribute("aria-busy") === "true") return;
    const shown = rows.querySelectorAll("tr[data-conversation-id]");
    const target = new URL(showMore.href, location.href);
    const after = shown.length
      ? shown[shown.length - 1].dataset.sortKey
      : target.searchParams.get("after");
    const url = new URL(inbox.dataset.rowsUrl, location.href);
    url.searchParams.set("after", after);
    showMore.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (answer) {
        const template = document.createElement("template");
        template.innerHTML = answer.rows;  // server-rendered, escaped by Django's templates
        template.content.querySelectorAll("tr[data-conversation-id]").forEach(function (row) {
          const id = row.dataset.conversationId;
          // A row a push already placed on screen stays where it is.
          if (!rows.querySelector('tr[data-conversation-id="' + id + '"]')) {
            rows.insertBefore(row, emptyRow || null);
          }
        });
        target.searchParams.set("after", answer.next);
        showMore.href = target.toString();
        showMore.hidden = !answer.next;
        rowsChanged();
      })
      .then(function () { moreError.hidden = true; })
      .catch(function () { moreError.hidden = false; })
      .finally(function () { showMore.removeAttribute("aria-busy"); });
  }

  function askForRows() {
    batchTimer = null;
    if (asking || !pending.size) return;
    const ids = Array.from(pending).slice(0, MAX_IDS);
    ids.forEach(function (id) { pending.delete(id); });
    asking = true;
    const url = new URL(inbox.dataset.rowsUrl, location.href);
    url.searchParams.set("ids", ids.join(","));
    // The view badges come with the rows: one request per batch of changes.
    url.searchParams.set("counts", "1");
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (answer === null) return;
        applyRows(ids, answer.rows);
        applyCounts(answer.counts);
      })
      .catch(function () { /* the next change or a reload shows it */ })
      .finally(function () {
        asking = false;
        if (pending.size) schedule();
      });
  }

  function schedule() {
    if (!batchTimer) batchTimer = setTimeout(askForRows, BATCH_MS);
  }

  // "12:04 left" / "3:10 overdue": minutes and seconds, so a countdown never reads as a time
  // of day. "Waiting" counts up from the oldest unanswered post of the customer's turn.
  function refreshTimers() {
    const now = new Date();
    document.querySelectorAll("td.waiting").forEach(function (td) {
      td.textContent = td.dataset.since ? window.ParleyClock.formatWaited(now - new Date(td.dataset.since)) : "—";
    });
    document.querySelectorAll("td.sla").forEach(function (td) {
      if (td.dataset.due) {
        const remaining = new Date(td.dataset.due) - now;
        td.textContent = (td.dataset.timer ? td.dataset.timer + " · " : "") +
          window.ParleyClock.formatRemaining(remaining);
        td.dataset.state = remaining < 0 ? "breached" : remaining < 5 * 60 * 1000 ? "at-risk" : "ok";
      } else {
        td.textContent = td.dataset.owed ? gettext("no clock") : gettext("answered");
        td.dataset.state = td.dataset.owed ? "" : "met";
      }
    });
  }

  // The view badges, as the server counted them with the rows (one aggregate query).
  function applyCounts(counts) {
    document.querySelectorAll("[data-count]").forEach(function (badge) {
      const value = counts[badge.dataset.count];
      if (value === undefined) return;
      badge.textContent = badge.dataset.count === "mine_unanswered" ? value + " " + gettext("new") : value;
      if (badge.dataset.count === "mine_unanswered") badge.hidden = value === 0;
    });
  }

  function onMessage(data) {
    const changed = data.conversation ? data.conversation.id : data.conversation_id;
    if (changed === undefined || changed === null) return;
    pending.add(changed);
    schedule();
  }

  // Closed because the agent's access changed: reconnect, to be grouped anew (or refused).
  window.ParleySocket.connect(inbox.dataset.socketUrl, {
    stopOn: [],
    onOpen: function () { setLive("live", gettext("live")); },
    onMessage: onMessage,
    onClose: function (event, willRetry) {
      setLive("offline", willRetry ? gettext("reconnecting…") : gettext("offline"));
    },
  });
  if (showMore) showMore.addEventListener("click", loadMore);
  refreshTimers();
  setInterval(refreshTimers, 1000);
})();
