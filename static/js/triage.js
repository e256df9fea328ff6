// One-click corrections of a post's tags, and the features that drove them. Forms are found
// through the thread, which conversation.js may re-render, so listeners sit on the document.
(function () {
  "use strict";

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
          const item = document.createElement("li");
          const features = data[task].top_features || [];
          item.textContent = task + " “" + data[task].label + "”: " + (features.join(", ") || "no strong words");
          list.append(item);
        });
        const reasons = document.createElement("li");
        reasons.textContent = "priority: " + (data.priority.reasons.join(", ") || "no special signals");
        list.append(reasons);
      });
  });
})();
