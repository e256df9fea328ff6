// Live SLA countdowns on the conversation page: the browser counts down from each running
// timer's due instant, and every half minute takes the server's word for it (a pause, a new
// target, a timer met or stopped), from the page's data-timers-url (/sla/conversations/<id>/timers/).
(function () {
  "use strict";

  const page = document.querySelector(".conversation-page");
  if (!page) return;
  const timersUrl = page.dataset.timersUrl;
  const LABELS = { ok: gettext("On track"), at_risk: gettext("At risk"), breached: gettext("Breached"), met: gettext("Met") };

  function tick() {
    const now = new Date();
    document.querySelectorAll("dd.sla-timer[data-due]").forEach(function (dd) {
      const due = new Date(dd.dataset.due);
      const atRisk = new Date(dd.dataset.atRisk);
      const state = now >= due ? "breached" : now >= atRisk ? "at_risk" : dd.dataset.state;
      dd.dataset.state = state;
      const label = dd.querySelector(".sla-state");
      label.className = "sla-state sla-" + state;
      label.textContent = LABELS[state] || label.textContent;
      const countdown = dd.querySelector(".countdown");
      if (countdown) countdown.textContent = window.ParleyClock.formatRemaining(due - now);
    });
  }

  function correctFromServer() {
    fetch(timersUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        (data.timers || data).forEach(function (timer) {
          const dd = document.querySelector('dd.sla-timer[data-kind="' + timer.kind + '"]');
          if (!dd) return;
          dd.dataset.state = timer.state;
          if (timer.due_at && !timer.paused && !timer.stopped_at) {
            dd.dataset.due = timer.due_at;
            dd.dataset.atRisk = timer.at_risk_at;
          } else {
            delete dd.dataset.due;
            const label = dd.querySelector(".sla-state");
            label.className = "sla-state sla-" + timer.state;
            label.textContent = LABELS[timer.state] || timer.label;
            const countdown = dd.querySelector(".countdown");
            if (countdown) countdown.textContent = timer.paused ? gettext("paused") : gettext("done");
          }
        });
        tick();
      });
  }

  tick();
  setInterval(tick, 1000);
  setInterval(correctFromServer, 30000);
})();
