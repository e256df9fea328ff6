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
    tr.dataset.waitingSince = c.waiting_since || "";
    tr.dataset.due = c.response_due_at || "";
    tr.dataset.lastInbound = c.last_inbound_at || "";
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
    tag.textContent = c.intent || gettext("Not triaged");
    intent.append(tag);
    const prio = document.createElement("td");
    const prioLabel = document.createElement("span");
    prioLabel.className = "prio";
    prioLabel.textContent = c.priority_label;
    prio.append(prioLabel);
    const waiting = cell("", "waiting");
    waiting.dataset.since = c.waiting_since || "";
    const sla = cell("", "sla");
    sla.dataset.due = c.response_due_at || "";
    sla.dataset.timer = c.response_timer_label || "";
    sla.dataset.owed = c.waiting_since ? "1" : "";
    const status = document.createElement("td");
    const statusLabel = document.createElement("span");
    statusLabel.className = "status status-" + c.status;
    statusLabel.textContent = c.status_label;
    status.append(statusLabel);
    if (c.snoozed_until && Date.parse(c.snoozed_until) > Date.now()) {
      const wakes = document.createElement("small");
      wakes.className = "wakes";
      wakes.dataset.wakes = c.snoozed_until;
      // The agent's zone (ParleyTime), as the server-rendered card does: not the browser's.
      wakes.textContent = interpolate(gettext("wakes %(when)s"), { when: window.ParleyTime.format(c.snoozed_until,
        { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }) }, true);
      status.append(wakes);
    }
    const pick = cell("", "pick");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "ids";
    box.value = c.id;
    box.setAttribute("form", "bulk-form");
    box.setAttribute("aria-label", interpolate(gettext("Select %(customer)s"), { customer: c.customer }, true));
    pick.append(box);
    tr.append(pick, who, cell(c.excerpt, "excerpt"), intent, prio, cell(c.team || "—", "team"),
      cell(c.assignee || "—", "assignee"), status, waiting, sla);
    return tr;
  }

  // The same rules as helpdesk/filters.py (ConversationFilter), for one pushed card.
  function matchesView(c) {
    const awake = !c.snoozed_until || Date.parse(c.snoozed_until) <= Date.now();
    if (shown.view === "pending") {
      if (c.status !== "pending") return false;
    } else if (shown.view === "snoozed") {
      if (awake || ACTIVE.indexOf(c.status) === -1 || !c.needs_reply) return false;
    } else if (shown.view === "noreply") {
      if (c.needs_reply) return false;
    } else {
      if (shown.status === "snoozed") {
        if (awake || ACTIVE.indexOf(c.status) === -1) return false;
      } else if (shown.status ? c.status !== shown.status : ACTIVE.indexOf(c.status) === -1) {
        return false;
      }
      if (!shown.status && (!awake || !c.needs_reply)) return false;
    }
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

  // Where a row belongs: the order the server renders the inbox in (selectors.INBOX_SORTS),
  // so a live update and a reload show the same list. By default who has waited longest for
  // what the brand owes them comes first, then the most urgent, then the soonest due.
  function time(value, missing) { return value ? Date.parse(value) : missing; }
  function rankOf(row) {
    return {
      waiting: time(row.dataset.waitingSince, Infinity),
      due: time(row.dataset.due, Infinity),
      newest: time(row.dataset.lastInbound, -Infinity),
      priority: Number(row.dataset.priority || 0),
      id: Number(row.dataset.conversationId),
    };
  }

  const SORT_KEYS = {
    waiting: [["waiting", 1], ["priority", -1], ["due", 1], ["id", -1]],
    due: [["due", 1], ["waiting", 1], ["priority", -1], ["id", -1]],
    priority: [["priority", -1], ["waiting", 1], ["id", -1]],
    newest: [["newest", -1], ["id", -1]],
  };

  function comesBefore(a, b) {
    const keys = SORT_KEYS[shown.sort] || SORT_KEYS.waiting;
    for (const [key, direction] of keys) {
      if (a[key] !== b[key]) return direction > 0 ? a[key] < b[key] : a[key] > b[key];
    }
    return false;
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
    const existingBox = existing && existing.querySelector("td.pick input");
    const wasPicked = Boolean(existingBox && existingBox.checked);
    if (existing) existing.remove();
    // A pushed card carries no SLA state: under an SLA filter, only rows already shown
    // are kept up to date; the next load brings in any that started to match.
    // Nor tags: under a tag filter too, only rows already shown are kept up to date.
    if (!matchesView(c) || ((shown.sla || shown.tag) && !existing)) {
      showEmptyIfNone();
      document.dispatchEvent(new CustomEvent("parley:rows-changed"));
      return;
    }
    const row = renderRow(c);
    if (wasSelected) row.classList.add("selected");
    if (wasPicked) row.querySelector("td.pick input").checked = true;
    placeRow(row);
    showEmptyIfNone();
    refreshTimers();
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
            badge.textContent = badge.dataset.count === "mine_unanswered"
              ? interpolate(ngettext("%(count)s new", "%(count)s new", value), { count: value }, true) : value;
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
    socket.addEventListener("open", function () { retryDelay = 1000; setLive("live", gettext("live")); });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function () {
      setLive("offline", gettext("reconnecting…"));
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    });
  }

  connect();
  refreshTimers();
  setInterval(refreshTimers, 1000);
})();
