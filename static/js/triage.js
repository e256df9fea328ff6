// One-click corrections of a post's tags, and the features that drove them. Forms are found
// through the thread, which conversation.js may re-render, so listeners sit on the document.
(function () {
  "use strict";

  // Translated when the i18n catalogue (window.gettext) is loaded; as written otherwise.
  const _ = window.gettext || function (text) { return text; };

  function percent(value) {
    return Math.round(value * 100) + "%";
  }

  // One line per tag: the label, how sure the model is, the words that pushed it there, and
  // when the decision differs from the model's own best label, that label and why.
  function explainTag(task, tag) {
    const item = document.createElement("li");
    item.className = "explain-" + task;
    const head = document.createElement("strong");
    head.textContent = (task === "intent" ? _("Intent") : _("Sentiment")) + " “" + (tag.display || tag.label) + "”";
    item.append(head);
    if (tag.confidence !== null && tag.confidence !== undefined) {
      const confidence = document.createElement("span");
      confidence.className = "confidence";
      confidence.textContent = " · " + _("model confidence") + " " + percent(tag.confidence);
      item.append(confidence);
    }
    const features = tag.top_features || [];
    item.append(" · " + (features.length ? _("words") + ": " + features.join(", ") : _("no strong words")));
    if (tag.model_label && tag.model_label !== tag.label) {
      item.append(" · " + _("the model's own best guess") + ": “" + tag.model_label + "”" + (tag.note ? " (" + tag.note + ")" : ""));
    }
    return item;
  }

  function explainPriority(priority) {
    const item = document.createElement("li");
    item.className = "explain-priority";
    const head = document.createElement("strong");
    head.textContent = _("Priority") + (priority.display ? " “" + priority.display + "”" : "");
    item.append(head);
    const rules = priority.rules || [];
    if (!rules.length) {
      item.append(" · " + _("no special signals"));
      return item;
    }
    const list = document.createElement("ul");
    rules.forEach(function (rule) {
      const line = document.createElement("li");
      line.textContent = rule.reason + (rule.rule ? " — " + rule.rule : "");
      list.append(line);
    });
    item.append(list);
    return item;
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form.triage-feedback");
    if (!form) return;
    event.preventDefault();
    const box = form.closest("details.triage");
    const result = form.querySelector(".feedback-result");
    const body = new URLSearchParams({ field: form.dataset.field, label: form.elements.label.value });
    fetch(box.dataset.feedbackUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin",
    })
      .then(function (response) { return response.json().then(function (data) { return [response.ok, data]; }); })
      .then(function ([ok, data]) {
        result.textContent = ok
          ? (data.model_was_right ? gettext("Confirmed — thanks") : gettext("Corrected — the next training learns it"))
          : (data.error || gettext("Could not record that"));
        result.dataset.state = ok ? "ok" : "error";
      })
      .catch(function () { result.textContent = gettext("Network error; try again"); result.dataset.state = "error"; });
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.explain");
    if (!button) return;
    const box = button.closest("details.triage");
    const list = box.querySelector("ul.explanation");
    fetch(box.dataset.explanationUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        list.replaceChildren();
        ["intent", "sentiment"].forEach(function (task) {
          list.append(explainTag(task, data[task]));
        });
        list.append(explainPriority(data.priority));
      })
      .catch(function () {
        const item = document.createElement("li");
        item.textContent = _("Could not load the explanation; try again");
        list.replaceChildren(item);
      });
  });
})();
