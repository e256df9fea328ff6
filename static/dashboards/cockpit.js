// The live cockpit: every push from /ws/cockpit/ carries a full snapshot, drawn with
// textContent only (customer handles are the customers' own text).
(function () {
  "use strict";
  const RETRY_MS = 2000;
  const liveBadge = document.getElementById("cockpit-live");

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
    setValue("rate-usual", snapshot.rate.usual);
    document.getElementById("cockpit-updated").textContent = snapshot.generated_at;

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
      cell(row, q.oldest_waiting_seconds === null ? "—" : q.oldest_waiting_seconds + " s");
    }
    if (!snapshot.queues.length) emptyRow(queues, 7, "No open conversations.");

    const agents = document.getElementById("agents");
    agents.replaceChildren();
    for (const a of snapshot.agents) {
      const row = agents.insertRow();
      cell(row, a.agent);
      cell(row, a.load + " / " + a.capacity);
    }
    if (!snapshot.agents.length) emptyRow(agents, 2, "Nobody online.");

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
      cell(row, c.state, "state");
      cell(row, c.platform);
      cell(row, c.team);
      cell(row, c.assignee || "—");
      cell(row, c.due_at || "—");
    }
    if (!snapshot.attention.length) emptyRow(attention, 6, "Nothing at risk.");

    const spikes = document.getElementById("spikes");
    spikes.replaceChildren();
    for (const s of snapshot.spikes) {
      const item = document.createElement("li");
      if (s.kind === "viral") {
        const link = document.createElement("a");
        link.href = s.conversation_url;
        link.textContent = s.label + " on " + s.account + ": " + s.peak_posts + " engagements an hour";
        item.appendChild(link);
      } else {
        item.textContent = s.label + " on " + s.account + (s.keyword ? " “" + s.keyword + "”" : "") +
          ": " + s.window_posts + " posts in 5 min (usually " + s.baseline_posts + ")" +
          (s.ended_at ? " — over" : "");
      }
      spikes.appendChild(item);
    }
    document.getElementById("spike-banner").hidden = !snapshot.spikes.length;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/cockpit/");
    socket.onopen = () => {
      liveBadge.textContent = "live";
      liveBadge.dataset.state = "live";
    };
    socket.onmessage = (message) => {
      const push = JSON.parse(message.data);
      if (push.event === "cockpit") render(push.cockpit);
    };
    socket.onclose = () => {
      liveBadge.textContent = "reconnecting…";
      liveBadge.dataset.state = "offline";
      setTimeout(connect, RETRY_MS);
    };
  }

  connect();
})();
