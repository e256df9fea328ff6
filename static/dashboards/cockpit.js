// The live cockpit: every push from /ws/cockpit/ carries a full snapshot, drawn with
// textContent only (customer handles are the customers' own text). A snapshot also says when
// the next SLA threshold passes (next_change_at): the page fetches a fresh one at that second,
// so "Breached" turns with the inbox's countdown, not a sweep later.
(function () {
  "use strict";
  const liveBadge = document.getElementById("cockpit-live");
  const times = window.ParleyTimes;
  let thresholdTimer = null;

  function timeCell(row, format, iso, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.appendChild(times.element(format, iso));
    row.appendChild(td);
    return td;
  }

  function setTime(id, format, iso) {
    const element = document.getElementById(id);
    const current = element.querySelector("time");
    if ((current ? current.dateTime : null) === (iso || null)) return;
    element.replaceChildren(times.element(format, iso));
  }

  function lookAgainAt(iso) {
    if (thresholdTimer !== null) clearTimeout(thresholdTimer);
    thresholdTimer = null;
    if (!iso) return;
    // A moment after the threshold, so the server sees it passed; at most a day ahead.
    const wait = Math.min(Math.max(new Date(iso) - Date.now() + 250, 0), 86400000);
    thresholdTimer = setTimeout(fetchSnapshot, wait);
  }

  function fetchSnapshot() {
    fetch("/api/reports/cockpit/", { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((snapshot) => { if (snapshot) render(snapshot); })
      .catch(() => {});
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function emptyRow(body, columns, text) {
    const row = body.insertRow();
    row.className = "empty";
    const td = cell(row, text, "muted");
    td.colSpan = columns;
  }

  function setValue(id, value) {
    const element = document.getElementById(id);
    const text = String(value);
    if (element.textContent !== text) {
      element.textContent = text;
      element.classList.remove("changed");
      void element.offsetWidth; // restart the highlight
      element.classList.add("changed");
    }
  }

  function render(snapshot) {
    setValue("total-depth", snapshot.totals.depth);
    setValue("total-unassigned", snapshot.totals.unassigned);
    setValue("total-at-risk", snapshot.totals.at_risk);
    setValue("total-breached", snapshot.totals.breached);
    setValue("rate-now", snapshot.rate.now);
    setValue("rate-usual", snapshot.rate.learning ? gettext("learning") : snapshot.rate.usual);
    setTime("total-oldest-waiting", "waited", snapshot.totals.oldest_waiting_since);
    document.getElementById("cockpit-updated").replaceChildren(
      times.element("ago", snapshot.generated_at));
    lookAgainAt(snapshot.next_change_at);

    const queues = document.getElementById("queues");
    queues.replaceChildren();
    for (const q of snapshot.queues) {
      const row = queues.insertRow();
      cell(row, q.team);
      cell(row, q.platform_label);
      cell(row, q.depth);
      cell(row, q.unassigned);
      cell(row, q.at_risk);
      cell(row, q.breached);
      timeCell(row, "waited", q.oldest_waiting_since, "waited");
    }
    if (!snapshot.queues.length) emptyRow(queues, 7, gettext("No open conversations."));

    const agents = document.getElementById("agents");
    agents.replaceChildren();
    for (const a of snapshot.agents) {
      const row = agents.insertRow();
      cell(row, a.agent);
      cell(row, a.load + " / " + a.capacity);
    }
    if (!snapshot.agents.length) emptyRow(agents, 2, gettext("Nobody online."));

    const attention = document.getElementById("attention");
    attention.replaceChildren();
    for (const c of snapshot.attention) {
      const row = attention.insertRow();
      row.dataset.conversationId = c.id;
      row.dataset.state = c.state;
      const link = document.createElement("a");
      link.href = c.url;
      link.textContent = "#" + c.id + " " + c.customer;
      cell(row, "").appendChild(link);
      cell(row, c.state_label, "state");
      cell(row, c.platform);
      cell(row, c.team);
      cell(row, c.assignee || "—");
      timeCell(row, "due", c.due_at);
    }
    if (!snapshot.attention.length) emptyRow(attention, 6, gettext("Nothing at risk."));

    const spikes = document.getElementById("spikes");
    spikes.replaceChildren();
    for (const s of snapshot.spikes) {
      const item = document.createElement("li");
      if (s.kind === "viral") {
        const link = document.createElement("a");
        link.href = s.conversation_url;
        link.textContent = interpolate(gettext("%(label)s on %(account)s: %(posts)s engagements an hour"),
          { label: s.label, account: s.account, posts: s.peak_posts }, true);
        item.appendChild(link);
      } else {
        item.textContent = s.label + " on " + s.account + (s.keyword ? " “" + s.keyword + "”" : "") +
          ": " + s.window_posts + " posts in " + s.window_minutes + " min (usually " +
          s.baseline_posts + ")" + (s.ended_at ? " — over" : "");
      }
      item.append(" · " + gettext("detected") + " ", times.element("ago", s.detected_at));
      spikes.appendChild(item);
    }
    document.getElementById("spike-banner").hidden = !snapshot.spikes.length;

    const learning = document.getElementById("learning");
    learning.replaceChildren();
    snapshot.learning.forEach((account, index) => {
      if (index) learning.append(" · ");
      learning.append(interpolate(gettext("Learning the usual volume of %(account)s"), { account: account.account }, true));
      if (account.alerts_from) {
        learning.append(gettext(": spike alerts from "), times.element("clock", account.alerts_from));
      } else {
        learning.append(gettext(": no posts yet"));
      }
    });
    learning.hidden = !snapshot.learning.length;
  }

  function connect() {
    // Reconnects whatever the close code: the cockpit had always retried (stopOn: []).
    window.ParleySocket.connect(liveBadge.dataset.socketUrl, {
      stopOn: [],
      onOpen: () => {
        liveBadge.textContent = "live";
        liveBadge.dataset.state = "live";
      },
      onMessage: (push) => {
        if (push.event === "cockpit") render(push.cockpit);
      },
      onClose: () => {
        liveBadge.textContent = "reconnecting…";
        liveBadge.dataset.state = "offline";
      },
    });
  }

  const firstThreshold = document.getElementById("cockpit-next-change");
  if (firstThreshold) lookAgainAt(JSON.parse(firstThreshold.textContent));
  connect();
})();
