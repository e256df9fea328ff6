// Alerts for the signed-in agent on every page, from /ws/sla/: SLA thresholds on their own
// conversations (and, for supervisors, their teams'), @mentions in notes, assignments to them,
// a customer back on a conversation they hold. Each shows as an in-page toast, counts in the
// tab title until the page is looked at, and becomes a desktop notification when the agent
// has allowed them. Alert text is untrusted: it only goes in via textContent.
(function () {
  "use strict";

  const region = document.getElementById("toasts");
  if (!region || !window.WebSocket || !window.ParleySocket) return;
  const baseTitle = document.title;
  const seen = new Set();
  let unread = 0;

  // Toasts sit in a corner over the page; they must never cover what the agent is typing in
  // or the button that sends it (at 768 px the bottom corner is the composer's "Send reply").
  // Whenever they are shown, the page scrolls or the window resizes, the stack goes to the
  // bottom or the top corner, whichever covers none of the [data-toasts-avoid] elements (or
  // the least of them).
  function overlap(a, b) {
    const width = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const height = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return width > 0 && height > 0 ? width * height : 0;
  }
  function covered() {
    if (!region.children.length) return 0;
    const box = region.getBoundingClientRect();
    let area = 0;
    document.querySelectorAll("[data-toasts-avoid]").forEach(function (element) {
      area += overlap(box, element.getBoundingClientRect());
    });
    return area;
  }
  // The corner that covers the least; 0 when one is clear.
  function bestCorner() {
    const atTop = region.classList.contains("toasts-top");
    const here = covered();
    if (here > 0) {
      region.classList.toggle("toasts-top", !atTop);
      // Back where it was if the other corner covers more.
      if (covered() > here) region.classList.toggle("toasts-top", atTop);
    }
    return covered();
  }
  let placing = false;
  function place() {
    if (placing || !document.querySelector("[data-toasts-avoid]")) return;
    placing = true;
    // When the whole stack fits in neither corner (a short window), only the newest toast
    // shows until there is room again; the others are still counted in the tab title.
    region.classList.remove("toasts-compact");
    if (bestCorner() > 0) {
      region.classList.add("toasts-compact");
      bestCorner();
    }
    placing = false;
  }
  window.addEventListener("scroll", place, { passive: true });
  window.addEventListener("resize", place);
  new MutationObserver(place).observe(region, { childList: true });

  function setUnread(count) {
    unread = count;
    document.title = unread ? "(" + unread + ") " + baseTitle : baseTitle;
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) setUnread(0);
  });
  window.addEventListener("focus", function () { setUnread(0); });

  function describe(alert) {
    if (alert.text) return alert.text;
    const what = alert.timer_label || gettext("SLA");
    const format = alert.event === "sla.breached"
      ? gettext("%(what)s breached on conversation #%(id)s")
      : gettext("%(what)s at risk on conversation #%(id)s");
    return interpolate(format, { what: what, id: alert.conversation_id }, true);
  }

  function toast(alert) {
    const box = document.createElement("div");
    box.className = "toast";
    box.dataset.kind = alert.event || "";
    box.dataset.conversationId = alert.conversation_id || "";
    const text = document.createElement("span");
    text.textContent = describe(alert);
    const actions = document.createElement("span");
    actions.className = "toast-actions";
    if (alert.url) {
      const open = document.createElement("a");
      open.href = alert.url;
      open.textContent = gettext("Open");
      actions.append(open);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.textContent = gettext("Dismiss");
    close.addEventListener("click", function () { box.remove(); });
    actions.append(close);
    box.append(text, actions);
    region.append(box);
    // Said through the page's one live region (announce.js), which says an SLA alert once
    // even when its countdown on screen turns at the same time.
    if (window.parleyAnnounce) window.parleyAnnounce(alert, describe(alert));
    // Keep the last few on screen.
    while (region.children.length > 5) region.firstElementChild.remove();
    setTimeout(function () { box.remove(); }, 30000);
  }

  function desktop(alert) {
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
    const notification = new Notification("Parley", { body: describe(alert), tag: alert.alert_id });
    notification.onclick = function () { window.focus(); if (alert.url) location.href = alert.url; };
  }

  function offerDesktop() {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    try { if (localStorage.getItem("parley.notifications.asked")) return; } catch (error) { return; }
    const box = document.createElement("div");
    box.className = "toast";
    box.dataset.kind = "permission";
    const text = document.createElement("span");
    text.textContent = gettext("Get SLA alerts and mentions as desktop notifications?");
    const allow = document.createElement("button");
    allow.type = "button";
    allow.className = "small";
    allow.textContent = gettext("Allow");
    allow.addEventListener("click", function () {
      Notification.requestPermission().finally(function () { box.remove(); });
    });
    const later = document.createElement("button");
    later.type = "button";
    later.className = "link";
    later.textContent = gettext("Not now");
    later.addEventListener("click", function () {
      try { localStorage.setItem("parley.notifications.asked", "1"); } catch (error) { /* private mode */ }
      box.remove();
    });
    const actions = document.createElement("span");
    actions.className = "toast-actions";
    actions.append(allow, later);
    box.append(text, actions);
    region.append(box);
  }

  function onAlert(alert) {
    if (!alert || seen.has(alert.alert_id)) return;
    seen.add(alert.alert_id);
    // The server applies the agent's profile choices and says which notices to show.
    if (alert.show_in_page !== false) {
      toast(alert);
      if (document.hidden || !document.hasFocus()) setUnread(unread + 1);
    }
    if (alert.show_desktop) desktop(alert);
  }

  offerDesktop();
  // Signed out or refused (4401/4403): the helper stops, retrying would not change it.
  window.ParleySocket.connect(region.dataset.socketUrl, { onMessage: onAlert });
})();
