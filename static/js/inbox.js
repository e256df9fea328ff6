// Live inbox: listens on the inbox WebSocket and keeps the table up to date without a reload,
// for the view and filters on screen: a row that stops matching them (assigned away from
// "mine", resolved, moved to another team) leaves, one that starts matching arrives. Post text
// is untrusted: it only ever goes in via textContent.
(function () {
  "use strict";

  const rows = document.getElementById("conversation-rows");
  const inbox = document.querySelector("section.inbox");
  if (!rows || !inbox) return;
  const liveStatus = document.getElementById("live-status");
  const ACTIVE = ["new", "open", "pending"];
  const shown = inbox.dataset;
  const teamIds = (shown.teamIds || "").split(",").filter(Boolean).map(Number);
  const emptyRow = rows && rows.querySelector("tr.empty");
  let retryDelay = 1000;

  function setLive(state, label) {
    if (!liveStatus) return;
    liveStatus.dataset.state = state;
    liveStatus.textContent = label;
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function renderRow(c) {
    const tr = document.createElement("tr");
    tr.className = "conversation priority-" + c.priority + " fresh";
    tr.dataset.conversationId = c.id;
    tr.dataset.priority = c.priority;
    const who = document.createElement("td");
    who.className = "who";
    const link = document.createElement("a");
    link.href = c.url;
    link.textContent = c.customer;
    const platform = document.createElement("small");
    platform.textContent = c.platform;
    who.append(link, platform);
    const intent = document.createElement("td");
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = c.intent || "Not triaged";
    intent.append(tag);
    const prio = document.createElement("td");
    const prioLabel = document.createElement("span");
    prioLabel.className = "prio";
    prioLabel.textContent = c.priority_label;
    prio.append(prioLabel);
    const sla = cell("", "sla");
    sla.dataset.due = c.first_response_due_at || "";
    sla.dataset.met = c.first_response_at || "";
    const status = document.createElement("td");
    const statusLabel = document.createElement("span");
    statusLabel.className = "status status-" + c.status;
    statusLabel.textContent = c.status_label;
    status.append(statusLabel);
    tr.append(who, cell(c.excerpt, "excerpt"), intent, prio, cell(c.team || "—", "team"),
      cell(c.assignee || "—", "assignee"), status, sla);
    return tr;
  }

  // The same rules as helpdesk/filters.py (ConversationFilter), for one pushed card.
  function matchesView(c) {
    if (shown.status ? c.status !== shown.status : ACTIVE.indexOf(c.status) === -1) return false;
    if (!shown.status && c.snoozed_until && Date.parse(c.snoozed_until) > Date.now()) return false;
    if (shown.view === "mine" && String(c.assignee_id) !== shown.userId) return false;
    if (shown.view === "unassigned" && c.assignee_id !== null) return false;
    if (shown.view === "team" && teamIds.indexOf(c.team_id) === -1) return false;
    if (shown.platform && c.platform_code !== shown.platform) return false;
    if (shown.intent && c.intent_code !== shown.intent) return false;
    if (shown.priority !== "" && shown.priority !== undefined &&
        String(c.priority) !== shown.priority) return false;
    if (shown.search) {
      const needle = shown.search.replace(/^@/, "").toLowerCase();
      const haystack = [c.customer, c.customer_name, c.excerpt].join(" ").toLowerCase();
      if (haystack.indexOf(needle) === -1) return false;
    }
    return true;
  }

  // Where a row belongs: the order the server renders the inbox in (selectors.inbox_for),
  // so a live update and a reload show the same list: unanswered first (then the earliest
  // answered), then the most urgent, then the earliest due, then the newest.
  function rankOf(row) {
    const sla = row.querySelector("td.sla");
    return {
      met: sla && sla.dataset.met ? Date.parse(sla.dataset.met) : -Infinity,
      priority: Number(row.dataset.priority || 0),
      due: sla && sla.dataset.due ? Date.parse(sla.dataset.due) : Infinity,
      id: Number(row.dataset.conversationId),
    };
  }

  function comesBefore(a, b) {
    if (a.met !== b.met) return a.met < b.met;
    if (a.priority !== b.priority) return a.priority > b.priority;
    if (a.due !== b.due) return a.due < b.due;
    return a.id > b.id;
  }

  function placeRow(row) {
    const rank = rankOf(row);
    const next = Array.prototype.find.call(
      rows.querySelectorAll("tr[data-conversation-id]"),
      function (other) { return comesBefore(rank, rankOf(other)); }
    );
    rows.insertBefore(row, next || emptyRow || null);
  }

  function showEmptyIfNone() {
    if (emptyRow) emptyRow.hidden = Boolean(rows.querySelector("tr[data-conversation-id]"));
  }

  function upsertRow(c) {
    const existing = rows.querySelector('tr[data-conversation-id="' + c.id + '"]');
    const wasSelected = existing && existing.classList.contains("selected");
    if (existing) existing.remove();
    // A pushed card carries no SLA state: under an SLA filter, only rows already shown
    // are kept up to date; the next load brings in any that started to match.
    if (!matchesView(c) || (shown.sla && !existing)) {
      showEmptyIfNone();
      return;
    }
    const row = renderRow(c);
    if (wasSelected) row.classList.add("selected");
    placeRow(row);
    showEmptyIfNone();
    refreshTimers();
  }

  // "12:04 left" / "3:10 overdue": minutes and seconds, so a countdown never reads as a time
  // of day.
  function refreshTimers() {
    document.querySelectorAll("td.sla").forEach(function (td) {
      if (td.dataset.met) {
        td.textContent = "answered";
        td.dataset.state = "met";
      } else if (td.dataset.due) {
        const remaining = new Date(td.dataset.due) - new Date();
        td.textContent = window.ParleyClock.formatRemaining(remaining);
        td.dataset.state = remaining < 0 ? "breached" : remaining < 5 * 60 * 1000 ? "at-risk" : "ok";
      }
    });
  }

  // The view badges come from the server (one aggregate query), a moment after a change.
  let countsTimer = null;
  function refreshCounts() {
    clearTimeout(countsTimer);
    countsTimer = setTimeout(function () {
      fetch("/inbox/counts/", { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (counts) {
          if (!counts) return;
          document.querySelectorAll("[data-count]").forEach(function (badge) {
            const value = counts[badge.dataset.count];
            if (value === undefined) return;
            badge.textContent = badge.dataset.count === "mine_unanswered" ? value + " new" : value;
            if (badge.dataset.count === "mine_unanswered") badge.hidden = value === 0;
          });
        })
        .catch(function () { /* the next change tries again */ });
    }, 300);
  }

  function onMessage(event) {
    const data = JSON.parse(event.data);
    upsertRow(data.conversation);
    refreshCounts();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/inbox/");
    socket.addEventListener("open", function () { retryDelay = 1000; setLive("live", "live"); });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function () {
      setLive("offline", "reconnecting…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  connect();
  refreshTimers();
  setInterval(refreshTimers, 1000);
})();
