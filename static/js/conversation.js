// The conversation page: reply composer (templates, character counter), the live thread, and
// collision detection: who else has this conversation open, and who is typing a reply.
// Names and post text are untrusted: they go in via textContent; the thread is swapped for a
// fragment the server rendered (and escaped).
(function () {
  "use strict";

  const page = document.querySelector(".conversation-page");
  if (!page) return;
  const conversationId = page.dataset.conversationId;
  const ownUserId = Number(page.dataset.userId);
  const form = document.getElementById("reply-form");
  const textarea = form && form.querySelector("textarea");
  const counter = document.getElementById("char-counter");
  const sendButton = document.getElementById("send-reply");
  const presenceLine = document.getElementById("presence");
  const thread = document.getElementById("thread");
  const newActivity = document.getElementById("new-activity");
  const statusLabel = document.getElementById("status");

  // --- Composer -------------------------------------------------------------------------
  // A private message has a longer limit than a public reply; the radio buttons choose.
  function limit() {
    const channel = form && form.querySelector("input[name=channel]:checked");
    const key = channel && channel.value === "private" ? "privateCharLimit" : "charLimit";
    return form ? Number(form.dataset[key]) : 0;
  }
  if (form) {
    form.querySelectorAll("input[name=channel]").forEach(function (radio) {
      radio.addEventListener("change", updateCounter);
    });
  }

  // Platforms count characters, not UTF-16 units: an emoji is one. X weighs a public reply
  // with twitter-text (vendored, the same rules as the server's reply_length): a link or a
  // bare domain counts 23, CJK and emoji count 2, an emoji sequence counts as one emoji.
  function xWeighted(text) {
    const twitterText = window.twttr && window.twttr.txt;
    if (!twitterText) return Array.from(text).length;  // not loaded: the server still checks
    return twitterText.parseTweet(text).weightedLength;
  }
  function length(text) {
    const channel = form && form.querySelector("input[name=channel]:checked");
    const isPublic = !(channel && channel.value === "private");
    if (form && form.dataset.weighting === "x" && isPublic) return xWeighted(text.trim());
    return Array.from(text.trim()).length;
  }

  function updateCounter() {
    if (!textarea || !counter) return;
    const left = limit() - length(textarea.value);
    counter.textContent = left >= 0
      ? interpolate(ngettext("%(count)s character left", "%(count)s characters left", left), { count: left }, true)
      : interpolate(ngettext("%(count)s character over the limit", "%(count)s characters over the limit", -left),
        { count: -left }, true);
    counter.dataset.state = left < 0 ? "over" : left < 20 ? "close" : "ok";
    if (sendButton) sendButton.disabled = left < 0;
  }

  const templatesData = document.getElementById("reply-templates");
  const templates = templatesData ? JSON.parse(templatesData.textContent) : [];
  const picker = document.getElementById("template-picker");
  if (picker && textarea) {
    picker.addEventListener("change", function () {
      const chosen = templates.find(function (t) { return String(t.id) === picker.value; });
      picker.value = "";
      if (!chosen) return;
      const start = textarea.selectionStart, end = textarea.selectionEnd;
      const before = textarea.value.slice(0, start), after = textarea.value.slice(end);
      textarea.value = before + chosen.text + after;
      textarea.focus();
      textarea.selectionStart = textarea.selectionEnd = start + chosen.text.length;
      updateCounter();
      typing();
    });
  }
  if (textarea) {
    textarea.addEventListener("input", function () { updateCounter(); typing(); });
    updateCounter();
  }

  // --- Template quick-search: `/` in an empty composer (or `t` on the page) ---------------
  // Fuzzy match on the name and the text, a preview of the text as it will be inserted, and
  // variables Parley would leave empty flagged (and not inserted) instead of "Hi , thanks!".
  function fuzzyScore(query, text) {
    if (!query) return 1;
    let position = 0, score = 0, streak = 0;
    for (const character of query) {
      const found = text.indexOf(character, position);
      if (found === -1) return 0;
      streak = found === position ? streak + 1 : 0;
      score += 1 + streak;
      position = found + 1;
    }
    return score;
  }

  function searchTemplates(query) {
    const needle = query.trim().toLowerCase();
    return templates
      .map(function (t) {
        const byName = fuzzyScore(needle, t.name.toLowerCase());
        const byText = fuzzyScore(needle, t.text.toLowerCase());
        return { template: t, score: byName ? byName * 2 + byText : byText };
      })
      .filter(function (match) { return match.score > 0; })
      // Ties (every template, before anything is typed): the ones suggested for the
      // customer's latest post first, then by name.
      .sort(function (a, b) {
        return b.score - a.score || b.template.suggested - a.template.suggested ||
          a.template.name.localeCompare(b.template.name);
      })
      .map(function (match) { return match.template; });
  }

  let quick = null;
  function insertTemplate(chosen, dropTrigger) {
    if (dropTrigger && textarea.value.endsWith("/")) textarea.value = textarea.value.slice(0, -1);
    const start = textarea.selectionStart, end = textarea.selectionEnd;
    const before = textarea.value.slice(0, start), after = textarea.value.slice(end);
    textarea.value = before + chosen.text + after;
    textarea.focus();
    textarea.selectionStart = textarea.selectionEnd = start + chosen.text.length;
    updateCounter();
    typing();
  }

  function openQuickSearch(fromSlash) {
    if (!textarea || !templates.length || quick) return;
    const box = document.createElement("div");
    box.id = "template-search";
    box.className = "template-search card";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", gettext("Insert a template"));
    const input = document.createElement("input");
    input.type = "search";
    input.placeholder = gettext("Search templates by name or text");
    input.setAttribute("aria-label", gettext("Search templates"));
    const list = document.createElement("ul");
    list.className = "template-results";
    list.setAttribute("role", "listbox");
    const preview = document.createElement("p");
    preview.className = "template-preview";
    const warning = document.createElement("p");
    warning.className = "template-unknown";
    warning.setAttribute("role", "alert");
    box.append(input, list, preview, warning);
    textarea.insertAdjacentElement("beforebegin", box);
    let matches = [], active = 0;

    function render() {
      list.textContent = "";
      matches.forEach(function (t, index) {
        const item = document.createElement("li");
        item.textContent = t.suggested
          ? interpolate(gettext("%(name)s · suggested"), { name: t.name }, true)
          : t.name;
        item.dataset.templateId = t.id;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", index === active ? "true" : "false");
        item.addEventListener("mousedown", function (event) { event.preventDefault(); active = index; choose(); });
        list.append(item);
      });
      const current = matches[active];
      preview.textContent = current ? current.text : gettext("No template matches.");
      const unknown = current && current.unknown ? current.unknown : [];
      warning.textContent = unknown.length
        ? interpolate(gettext("Unknown variable %(names)s: it would be left empty. Fix the template before using it."),
          { names: unknown.map(function (name) { return "{{ " + name + " }}"; }).join(", ") }, true)
        : "";
      warning.hidden = !unknown.length;
    }
    function close() {
      box.remove();
      quick = null;
      textarea.focus();
    }
    function choose() {
      const current = matches[active];
      if (!current || (current.unknown && current.unknown.length)) return;
      close();
      insertTemplate(current, fromSlash);
    }
    input.addEventListener("input", function () { matches = searchTemplates(input.value); active = 0; render(); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { active = Math.min(active + 1, matches.length - 1); render(); }
      else if (event.key === "ArrowUp") { active = Math.max(active - 1, 0); render(); }
      else if (event.key === "Enter") { choose(); }
      else if (event.key === "Escape") { close(); }
      else return;
      event.preventDefault();
      event.stopPropagation();
    });
    quick = box;
    matches = searchTemplates("");
    render();
    input.focus();
  }

  if (textarea) {
    textarea.addEventListener("keyup", function (event) {
      if (event.key === "/" && textarea.value.trim() === "/") openQuickSearch(true);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "t" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
      event.preventDefault();
      openQuickSearch(false);
    });
  }

  // --- Macros: the picker names the macro the form runs; `m` goes to it -------------------
  const macroPicker = document.getElementById("macro-picker");
  const macroForm = document.getElementById("macro-form");
  if (macroPicker && macroForm) {
    macroForm.addEventListener("submit", function (event) {
      if (!macroPicker.value) {
        event.preventDefault();
        macroPicker.focus();
        return;
      }
      macroForm.action = macroPicker.dataset.actionBase + macroPicker.value + "/";
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "m" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
      event.preventDefault();
      macroPicker.focus();
    });
  }

  // --- Presence ---------------------------------------------------------------------------
  // channel -> {name, userId, typingUntil}
  const others = new Map();
  const TYPING_SHOWN_MS = 6000;

  function renderPresence() {
    if (!presenceLine) return;
    const now = Date.now();
    const viewing = new Map(), typingNames = new Set();
    others.forEach(function (agent) {
      if (agent.userId === ownUserId) return;
      viewing.set(agent.userId, agent.name);
      if (agent.typingUntil > now) typingNames.add(agent.name);
    });
    const names = Array.from(viewing.values());
    if (!names.length) {
      presenceLine.hidden = true;
      presenceLine.textContent = "";
      return;
    }
    const parts = names.map(function (name) {
      return interpolate(typingNames.has(name) ? gettext("%(name)s is typing…") : gettext("%(name)s is viewing"),
        { name: name }, true);
    });
    presenceLine.textContent = parts.join(" · ");
    presenceLine.dataset.state = typingNames.size ? "typing" : "viewing";
    presenceLine.hidden = false;
  }
  setInterval(renderPresence, 1000);

  function onPresence(data) {
    if (data.action === "leave") {
      others.delete(data.channel);
    } else {
      const agent = others.get(data.channel) || { typingUntil: 0 };
      agent.name = data.name;
      agent.userId = data.user_id;
      if (data.action === "typing") agent.typingUntil = Date.now() + TYPING_SHOWN_MS;
      if (data.action === "idle") agent.typingUntil = 0;
      others.set(data.channel, agent);
    }
    renderPresence();
  }

  // --- Social actions ---------------------------------------------------------------------
  // Deleting a reply and blocking an author cannot be undone: ask first. Delegated, since
  // the thread is swapped in live.
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    if (!button || !button.dataset.confirm || !event.target.closest(".social-actions")) return;
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  // --- Live thread ------------------------------------------------------------------------
  function refreshThread(event) {
    fetch(page.dataset.threadUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || !thread) return;
        const known = new Set(Array.from(thread.querySelectorAll("[data-post-id]"),
          function (li) { return li.dataset.postId; }));
        thread.innerHTML = html;  // server-rendered, escaped by Django's templates
        const arrived = [];
        thread.querySelectorAll("[data-post-id]").forEach(function (li) {
          if (!known.has(li.dataset.postId)) {
            li.classList.add("fresh");
            arrived.push(li);
          }
        });
        if (event === "post.received" && newActivity) {
          newActivity.textContent = gettext("The customer wrote again: read it before you reply.");
          newActivity.hidden = false;
        }
        // This page's own reply reloads it (the form posts): a reply arriving live is a
        // colleague's (or an automatic one, which says "Brand").
        const replies = arrived.filter(function (li) { return li.classList.contains("outbound"); });
        if (replies.length && newActivity) {
          const name = replies[replies.length - 1].querySelector(".meta strong");
          newActivity.textContent = interpolate(gettext("%(name)s replied: read it before you reply."),
            { name: name ? name.textContent : gettext("A colleague") }, true);
          newActivity.hidden = false;
        }
      })
      .catch(function () { /* the next change or a reload shows it */ });
  }

  // --- Live side panel and notes ------------------------------------------------------------
  // Status, assignee, routing, triage and SLA facts follow a colleague's change: the page is
  // read again and its side column and notes swapped in (server-rendered, so escaped).
  let panelTimer = null;
  function refreshPanel() {
    clearTimeout(panelTimer);
    panelTimer = setTimeout(function () {
      fetch(location.pathname, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          const fresh = new DOMParser().parseFromString(html, "text/html");
          const swap = function (selector) {
            const now = document.querySelector(selector), next = fresh.querySelector(selector);
            // A control being used (a select open, a field focused) is not pulled away.
            if (!now || !next || now.contains(document.activeElement)) return;
            now.innerHTML = next.innerHTML;
          };
          swap("aside.side-column");
          swap("#notes .note-list");
          const nextUrl = fresh.querySelector(".conversation-page");
          if (nextUrl && nextUrl.dataset.nextUrl) page.dataset.nextUrl = nextUrl.dataset.nextUrl;
        })
        .catch(function () { /* the next change or a reload shows it */ });
    }, 250);
  }

  // --- Socket -----------------------------------------------------------------------------
  let socket = null;
  let lastTypingSent = 0, idleTimer = null;

  function send(message) {
    if (socket) socket.send(message);
  }

  function typing() {
    const now = Date.now();
    if (now - lastTypingSent > 2000) {
      send({ type: "typing" });
      lastTypingSent = now;
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { send({ type: "idle" }); lastTypingSent = 0; }, 4000);
  }

  if (window.ParleySocket) {
    // Refused (4401 signed out, 4403 moved out of the agent's teams): the helper stops.
    socket = window.ParleySocket.connect(page.dataset.socketUrl, {
      onMessage: function (data) {
        if (data.event === "presence") {
          onPresence(data);
        } else if (data.conversation) {
          if (statusLabel) {
            statusLabel.textContent = data.conversation.status_label;
            statusLabel.className = "status status-" + data.conversation.status;
          }
          refreshThread(data.event);
          refreshPanel();
        }
      },
      onClose: function () {
        others.clear();
        renderPresence();
      },
    });
  }
})();
