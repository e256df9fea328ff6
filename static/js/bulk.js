// Selecting inbox rows for one action on all of them (helpdesk.services.bulk_update_conversations):
// click a row's box, shift-click another to take the rows between, `x` on the row the keyboard
// selected; the bar above the table shows how many and the fields the chosen action needs.
(function () {
  "use strict";

  const form = document.getElementById("bulk-form");
  const rows = document.getElementById("conversation-rows");
  if (!form || !rows) return;
  const count = document.getElementById("bulk-count");
  const action = document.getElementById("bulk-action");
  const selectAll = document.getElementById("select-all");
  let lastClicked = null;

  function boxes() {
    return Array.from(rows.querySelectorAll("td.pick input[type=checkbox]"));
  }

  function refresh() {
    const picked = boxes().filter(function (box) { return box.checked; }).length;
    count.textContent = interpolate(gettext("%(count)s selected"), { count: picked }, true);
    form.hidden = picked === 0;
    if (selectAll) selectAll.checked = picked > 0 && picked === boxes().length;
  }

  function showFieldsFor(value) {
    form.querySelectorAll("[data-bulk-for]").forEach(function (label) {
      label.hidden = label.dataset.bulkFor !== value;
    });
  }

  rows.addEventListener("click", function (event) {
    const box = event.target.closest("td.pick input[type=checkbox]");
    if (!box) return;
    if (event.shiftKey && lastClicked && lastClicked !== box) {
      const all = boxes();
      const from = all.indexOf(lastClicked), to = all.indexOf(box);
      if (from !== -1 && to !== -1) {
        all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (other) {
          other.checked = box.checked;
        });
      }
    }
    lastClicked = box;
    refresh();
  });

  if (selectAll) {
    selectAll.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = selectAll.checked; });
      refresh();
    });
  }
  action.addEventListener("change", function () { showFieldsFor(action.value); });
  document.getElementById("bulk-clear").addEventListener("click", function () {
    boxes().forEach(function (box) { box.checked = false; });
    refresh();
  });
  document.addEventListener("parley:rows-changed", refresh);

  // `x` picks the row the keyboard selected (j/k), as in a mail client.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "x" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
    const row = rows.querySelector("tr.selected");
    const box = row && row.querySelector("td.pick input[type=checkbox]");
    if (!box) return;
    event.preventDefault();
    box.checked = !box.checked;
    lastClicked = box;
    refresh();
  });

  showFieldsFor(action.value);
  refresh();
})();
