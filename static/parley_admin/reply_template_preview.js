// The reply template form's live preview: the body, as typed, filled in for a sample
// conversation by the server (the same code that fills a real reply), or why it cannot be.
(function () {
  "use strict";
  const output = document.getElementById("template-preview");
  const body = document.getElementById("id_body");
  if (!output || !body) return;
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
  let pending = null;
  let asked = 0;

  function show(state, text) {
    output.dataset.state = state;
    output.textContent = text;
  }

  function ask() {
    const number = ++asked;
    if (!body.value.trim()) {
      show("empty", "Type a body to see it here.");
      return;
    }
    const form = new FormData();
    form.append("body", body.value);
    fetch(output.dataset.url, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf ? csrf.value : "" },
    })
      .then((response) => response.json())
      .then((answer) => {
        if (number !== asked) return; // a later keystroke's answer wins
        if (answer.error) show("error", answer.error);
        else show("ok", answer.text);
      })
      .catch(() => show("error", "Could not reach the server for a preview."));
  }

  body.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(ask, 250);
  });
  ask();
})();
