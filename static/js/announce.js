// Polite announcements for screen readers, in base.html's #announcer live region: a new
// conversation in the inbox, an SLA that turns at risk or breached (the inbox countdowns,
// the conversation page's timers, the cockpit's attention list), a reply nearing its limit. Each change is said once,
// a few seconds after it happens and batched with the others, never on a countdown's tick.
// It watches the page (the scripts that draw it, inbox.js, sla_timers.js, cockpit.js, know
// nothing of it), and says the toasts of alerts.js through window.parleyAnnounce, so that an
// SLA alert both pushed and seen on a countdown is said once.
(function () {
  "use strict";

  const region = document.getElementById("announcer");
  if (!region) return;
  const BATCH_MS = 3000;
  const ALERTS = { at_risk: gettext("%(sla)s at risk"), breached: gettext("%(sla)s breached") };
  const lastState = new Map(); // item key -> the SLA state last seen
  // The SLA alerts already said, by conversation and state: the same alert can reach the
  // page twice, as a pushed toast (alerts.js) and as a countdown turning on screen. It is
  // said by whichever comes first, once (issue 18: a screen reader heard it twice).
  const SAID_FOR_MS = 10 * 60 * 1000;
  const saidAlerts = new Map(); // "<conversation id>:<state>" -> when it was said
  const page = document.querySelector(".conversation-page[data-conversation-id]");
  const pageConversationId = page ? page.dataset.conversationId : "";

  function firstTime(conversationId, state) {
    if (!conversationId || !ALERTS[state]) return true;
    const key = conversationId + ":" + state;
    const said = saidAlerts.get(key);
    if (said && Date.now() - said < SAID_FOR_MS) return false;
    saidAlerts.set(key, Date.now());
    return true;
  }
  let pending = [];
  let flushTimer = null;
  let settled = false; // what is on screen at load is not news

  function say(kind, text) {
    pending.push({ kind: kind, text: text });
    if (!flushTimer) flushTimer = setTimeout(flush, BATCH_MS);
  }

  function flush() {
    flushTimer = null;
    const arrived = pending.filter(function (item) { return item.kind === "new"; });
    const alerts = pending.filter(function (item) { return item.kind === "alert"; });
    // A mention or an assignment is meant for this agent: said in full.
    const notices = pending.filter(function (item) { return item.kind === "notice"; });
    pending = [];
    // A burst is read as a count, not as a list nobody can follow; alerts matter more, so
    // up to three are always said in full.
    const parts = [];
    if (alerts.length > 3) parts.push(interpolate(gettext("%(count)s SLA alerts"), { count: alerts.length }, true));
    else alerts.forEach(function (item) { parts.push(item.text); });
    notices.forEach(function (item) { parts.push(item.text); });
    if (arrived.length > 1) parts.push(interpolate(gettext("%(count)s new conversations"), { count: arrived.length }, true));
    else if (arrived.length) parts.push(arrived[0].text);
    region.textContent = parts.join(". ") + ".";
  }

  function normalState(state) {
    return (state || "").replace("-", "_");
  }

  // Everything on the page that has an SLA state.
  function items() {
    const found = [];
    document.querySelectorAll("#conversation-rows tr[data-conversation-id]").forEach(function (row) {
      const who = row.querySelector("td.who a");
      const sla = row.querySelector("td.sla");
      const customer = who ? who.textContent : gettext("a customer");
      found.push({ key: "row:" + row.dataset.conversationId, inboxRow: true, customer: customer,
        fresh: row.classList.contains("fresh"),
        conversationId: row.dataset.conversationId,
        sla: interpolate(gettext("%(customer)s: first response SLA"), { customer: customer }, true), state: normalState(sla && sla.dataset.state) });
    });
    document.querySelectorAll("dd.sla-timer[data-kind]").forEach(function (timer) {
      const term = timer.previousElementSibling;
      found.push({ key: "timer:" + timer.dataset.kind, sla: term ? term.textContent : gettext("SLA"),
        conversationId: pageConversationId,
        state: normalState(timer.dataset.state) });
    });
    document.querySelectorAll("#attention tr[data-conversation-id]").forEach(function (row) {
      const link = row.querySelector("a");
      found.push({ key: "cockpit:" + row.dataset.conversationId,
        conversationId: row.dataset.conversationId,
        sla: interpolate(gettext("%(conversation)s: SLA"), { conversation: link ? link.textContent : gettext("A conversation") }, true),
        state: normalState(row.dataset.state) });
    });
    return found;
  }

  function scan() {
    items().forEach(function (item) {
      const known = lastState.has(item.key);
      const before = lastState.get(item.key);
      // A row drawn a moment ago has no countdown yet: its first state is not a change.
      if (!item.state && known) return;
      lastState.set(item.key, item.state);
      if (!settled) return;
      if (!known && item.inboxRow) {
        // A row that arrived live (inbox.js marks it fresh) is news; the rows a "Show more"
        // brought are older ones, not new conversations.
        if (item.fresh) say("new", interpolate(gettext("New conversation from %(customer)s"), { customer: item.customer }, true));
      } else if (ALERTS[item.state] && (!known || (before && item.state !== before))) {
        if (firstTime(item.conversationId, item.state)) say("alert", interpolate(ALERTS[item.state], { sla: item.sla }, true));
      }
    });
  }

  // The one door for what alerts.js shows as toasts (its region is not a live region): an
  // SLA alert already said here is not said again; other notices are said as they come.
  window.parleyAnnounce = function (alert, text) {
    const state = (alert.event || "").replace("sla.", "");
    if (!firstTime(String(alert.conversation_id || ""), state)) return;
    say(ALERTS[state] ? "alert" : "notice", text);
  };

  // The reply's character counter speaks only when it crosses into "close" or "over", not
  // on every keystroke, and at once: the agent is typing.
  const counter = document.getElementById("char-counter");
  if (counter) {
    new MutationObserver(function () {
      const state = counter.dataset.state;
      if (state === counter.dataset.announced) return;
      counter.dataset.announced = state;
      if (state === "close" || state === "over") region.textContent = counter.textContent + ".";
    }).observe(counter, { attributes: true, attributeFilter: ["data-state"] });
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
