// Keyboard shortcuts for the inbox and the conversation page; `?` shows them.
(function () {
  "use strict";

  const help = document.getElementById("shortcut-help");
  const rows = document.getElementById("conversation-rows");
  const page = document.querySelector(".conversation-page");

  let focusBeforeHelp = null;

  // A modal dialog: focus goes into it when it opens and back where it was when it closes.
  function toggleHelp(show) {
    if (!help) return;
    const open = show === undefined ? help.hidden : show;
    if (open === !help.hidden) return;
    help.hidden = !open;
    if (open) {
      focusBeforeHelp = document.activeElement;
      const close = help.querySelector("[data-shortcut-close]");
      if (close) close.focus();
    } else if (focusBeforeHelp && focusBeforeHelp.focus) {
      focusBeforeHelp.focus();
      focusBeforeHelp = null;
    }
  }

  document.querySelectorAll("[data-shortcut-help]").forEach(function (button) {
    button.addEventListener("click", function () { toggleHelp(true); });
  });
  document.querySelectorAll("[data-shortcut-close]").forEach(function (button) {
    button.addEventListener("click", function () { toggleHelp(false); });
  });
  if (help) help.addEventListener("click", function (event) {
    if (event.target === help) toggleHelp(false);
  });

  function conversationRows() {
    return rows ? Array.from(rows.querySelectorAll("tr[data-conversation-id]")) : [];
  }

  function moveSelection(step) {
    const all = conversationRows();
    if (!all.length) return;
    const current = all.findIndex(function (row) { return row.classList.contains("selected"); });
    // Past the last row of a cut list: bring the next page (inbox.js's "Show more").
    const more = document.getElementById("show-more");
    if (step > 0 && current === all.length - 1 && more && !more.hidden) more.click();
    const next = current === -1 ? 0 : Math.min(Math.max(current + step, 0), all.length - 1);
    all.forEach(function (row) { row.classList.remove("selected"); });
    all[next].classList.add("selected");
    all[next].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    const selected = rows && rows.querySelector("tr.selected a");
    if (selected) location.href = selected.href;
  }

  function submit(form, button) {
    if (!form) return;
    if (form.requestSubmit) form.requestSubmit(button || undefined); else form.submit();
  }

  const actions = {
    "?": function () { toggleHelp(); },
    "/": function () { const search = document.getElementById("inbox-search"); if (search) search.focus(); },
    j: function () { if (page) goNext(); else moveSelection(1); },
    n: function () { if (page) goNext(); else moveSelection(1); },
    k: function () { if (!page) moveSelection(-1); },
    o: openSelected,
    Enter: openSelected,
    r: function () { const reply = document.querySelector("#reply-form textarea"); if (reply) reply.focus(); },
    e: function () { submit(document.getElementById("status-form"), document.getElementById("resolve")); },
    a: function () {
      const form = document.getElementById("assign-me-form");
      submit(form, form && form.querySelector("button"));
    },
  };

  function goNext() {
    if (page && page.dataset.nextUrl) location.href = page.dataset.nextUrl;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      if (help && !help.hidden) { toggleHelp(false); return; }
      if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
      return;
    }
    // Tab stays inside the open help, as in any modal dialog.
    if (event.key === "Tab" && help && !help.hidden) {
      event.preventDefault();
      const close = help.querySelector("[data-shortcut-close]");
      if (close) close.focus();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const action = actions[event.key];
    if (!action) return;
    // Behind the open help, only "?" (to close it) does anything.
    if (help && !help.hidden && event.key !== "?") return;
    // Enter on a focused link, button or disclosure does what that control does.
    if (event.key === "Enter" && target.closest && target.closest("a, button, summary")) return;
    event.preventDefault();
    action();
  });
})();
