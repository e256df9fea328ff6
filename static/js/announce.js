// Polite announcements for screen readers, in base.html's #announcer live region: a new
// conversation in the inbox, and an SLA that turns at risk or breached (the inbox countdowns,
// the conversation page's timers, the cockpit's attention list). Each change is said once,
// a few seconds after it happens and batched with the others, never on a countdown's tick.
// It only watches the page: the scripts that draw it (inbox.js, sla_timers.js, cockpit.js)
// know nothing of it.
(function () {
  "use strict";

  const region = document.getElementById("announcer");
  if (!region) return;
  const BATCH_MS = 3000;
  const ALERTS = { at_risk: "at risk", breached: "breached" };
  const lastState = new Map(); // item key -> the SLA state last seen
  let pending = [];
  let flushTimer = null;
  let settled = false; // what is on screen at load is not news

  function say(kind, text) {
    pending.push({ kind: kind, text: text });
    if (!flushTimer) flushTimer = setTimeout(flush, BATCH_MS);
  }

  function flush() {
    flushTimer = null;
    const batch = pending;
    pending = [];
    if (batch.length <= 3) {
      region.textContent = batch.map(function (item) { return item.text; }).join(". ") + ".";
      return;
    }
    // A burst is read as counts, not as a list nobody can follow.
    const arrived = batch.filter(function (item) { return item.kind === "new"; }).length;
    const alerts = batch.length - arrived;
    const parts = [];
    if (arrived) parts.push(arrived + " new conversation" + (arrived === 1 ? "" : "s"));
    if (alerts) parts.push(alerts + " SLA alert" + (alerts === 1 ? "" : "s"));
    region.textContent = parts.join(", ") + ".";
  }

  function normalState(state) {
    return (state || "").replace("-", "_");
  }

  // Everything on the page that has an SLA state: [key, label, state, isInboxRow].
  function items() {
    const found = [];
    document.querySelectorAll("#conversation-rows tr[data-conversation-id]").forEach(function (row) {
      const who = row.querySelector("td.who a");
      const sla = row.querySelector("td.sla");
      found.push(["row:" + row.dataset.conversationId, who ? who.textContent : "a customer",
        normalState(sla && sla.dataset.state), true]);
    });
    document.querySelectorAll("dd.sla-timer[data-kind]").forEach(function (timer) {
      const term = timer.previousElementSibling;
      found.push(["timer:" + timer.dataset.kind, term ? term.textContent : "SLA",
        normalState(timer.dataset.state), false]);
    });
    document.querySelectorAll("#attention tr[data-conversation-id]").forEach(function (row) {
      const link = row.querySelector("a");
      found.push(["cockpit:" + row.dataset.conversationId, link ? link.textContent : "a conversation",
        normalState(row.dataset.state), false]);
    });
    return found;
  }

  function scan() {
    items().forEach(function (item) {
      const key = item[0], label = item[1], state = item[2], isInboxRow = item[3];
      const known = lastState.has(key);
      const before = lastState.get(key);
      // A row drawn a moment ago has no countdown yet: its first state is not a change.
      if (!state && known) return;
      lastState.set(key, state);
      if (!settled) return;
      if (!known && isInboxRow) say("new", "New conversation from " + label);
      else if (!known && ALERTS[state]) say("alert", label + ": SLA " + ALERTS[state]);
      else if (known && before && state !== before && ALERTS[state]) {
        say("alert", label + ": SLA " + ALERTS[state]);
      }
    });
  }

  const observer = new MutationObserver(scan);
  const watched = { childList: true, subtree: true, attributes: true, attributeFilter: ["data-state"] };
  ["conversation-rows", "attention"].forEach(function (id) {
    const element = document.getElementById(id);
    if (element) observer.observe(element, watched);
  });
  document.querySelectorAll(".sla-facts").forEach(function (element) {
    observer.observe(element, watched);
  });

  // After the page's own deferred scripts have drawn their first countdowns.
  document.addEventListener("DOMContentLoaded", function () {
    scan();
    settled = true;
  });
})();
