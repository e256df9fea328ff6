// Report charts, drawn by the locally served Chart.js from the page's own numbers (the same
// JSON /api/reports/kpis/ returns) and the spikes from /api/reports/spikes/. Each chart keeps
// to its box (no 650 px donut), says its unit on the axis, uses colours told apart with
// colour-blindness (Okabe-Ito), and fills the table under it with the same numbers.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const query = document.currentScript ? document.currentScript.dataset.query : "";
  const minutes = (seconds) => (seconds === null ? null : Math.round(seconds / 6) / 10);
  const COLOURS = {
    blue: "#0072B2", orange: "#E69F00", green: "#009E73", vermillion: "#D55E00",
    sky: "#56B4E9", purple: "#CC79A7", yellow: "#F0E442", grey: "#7f7f7f",
  };
  const SERIES = [COLOURS.blue, COLOURS.orange, COLOURS.green, COLOURS.vermillion,
    COLOURS.purple, COLOURS.sky, COLOURS.yellow, COLOURS.grey];

  const charts = document.querySelector(".charts");
  if (window.Chart) {
    // Axis labels and grid lines in the page's own ink and line colours, light or dark.
    const theme = getComputedStyle(document.documentElement);
    window.Chart.defaults.color = theme.getPropertyValue("--muted").trim() || "#5c6378";
    window.Chart.defaults.borderColor = theme.getPropertyValue("--line").trim() || "#e3e6ee";
    if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      window.Chart.defaults.animation = false;
    }
  }
  let drawn = 0;

  // The table under a chart: one row per label, one column per series.
  function fillTable(id, labels, datasets, firstHeader) {
    const table = document.getElementById("table-" + id);
    if (!table) return;
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    for (const text of [firstHeader, ...datasets.map((d) => d.label)]) {
      const th = document.createElement("th");
      th.textContent = text;
      head.appendChild(th);
    }
    const body = table.createTBody();
    labels.forEach((label, index) => {
      const row = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = label;
      row.appendChild(th);
      for (const dataset of datasets) {
        const value = dataset.data[index];
        row.insertCell().textContent = value === null || value === undefined ? "—" : value;
      }
    });
  }

  function chart(id, config, firstHeader) {
    const canvas = document.getElementById("chart-" + id);
    if (!canvas) return null;
    const labels = config.data.labels;
    fillTable(id, labels, config.data.datasets, firstHeader);
    canvas.dataset.points = String(labels.length); // lets a test (or a human) count them
    if (!window.Chart) return null;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options);
    const made = new window.Chart(canvas, config);
    drawn += 1;
    charts.dataset.chartsDrawn = String(drawn);
    return made;
  }

  function axes(xTitle, yTitle, extra) {
    return {
      scales: {
        x: { title: { display: true, text: xTitle } },
        y: Object.assign({ beginAtZero: true, title: { display: true, text: yTitle } }, extra || {}),
      },
    };
  }

  function drawVolume(spikes) {
    const days = data.sentiment.days;
    const labels = days.map((d) => d.day);
    const total = (d) => d.positive + d.neutral + d.negative + d.untriaged;
    const spikeDays = new Set(spikes.map((s) => s.detected_at.slice(0, 10)));
    chart("volume", {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: gettext("All posts"), data: days.map(total), borderColor: COLOURS.blue,
            backgroundColor: COLOURS.blue },
          { label: gettext("Negative"), data: days.map((d) => d.negative), borderColor: COLOURS.vermillion,
            backgroundColor: COLOURS.vermillion, borderDash: [6, 3] },
          { label: gettext("Positive"), data: days.map((d) => d.positive), borderColor: COLOURS.green,
            backgroundColor: COLOURS.green, borderDash: [2, 2] },
          {
            label: gettext("Spike detected"),
            showLine: false,
            data: days.map((d) => (spikeDays.has(d.day) ? total(d) : null)),
            pointRadius: 8,
            pointStyle: "triangle",
            backgroundColor: COLOURS.orange,
            borderColor: COLOURS.orange,
          },
        ],
      },
      options: axes(gettext("Day"), gettext("Posts")),
    }, gettext("Day"));
  }

  chart("platforms", {
    type: "doughnut",
    data: {
      labels: data.volume.platforms.map((p) => p.label),
      datasets: [{
        label: gettext("Posts"),
        data: data.volume.platforms.map((p) => p.posts),
        backgroundColor: SERIES.slice(0, data.volume.platforms.length),
      }],
    },
    options: { plugins: { legend: { position: "right" } } },
  }, gettext("Platform"));
  chart("resolution", {
    type: "bar",
    data: {
      labels: data.resolution_by_intent.map((r) => r.label),
      datasets: [
        { label: gettext("Median"), backgroundColor: COLOURS.blue,
          data: data.resolution_by_intent.map((r) => minutes(r.median_seconds)) },
        { label: "p90", backgroundColor: COLOURS.orange,
          data: data.resolution_by_intent.map((r) => minutes(r.p90_seconds)) },
      ],
    },
    options: axes(gettext("Intent"), gettext("Minutes")),
  }, gettext("Intent"));
  chart("agents", {
    type: "bar",
    data: {
      labels: data.handling_time.by_agent.map((a) => a.agent),
      datasets: [{ label: gettext("Average"), backgroundColor: COLOURS.blue,
        data: data.handling_time.by_agent.map((a) => minutes(a.average_seconds)) }],
    },
    options: axes(gettext("Agent"), gettext("Minutes")),
  }, gettext("Agent"));

  // How often the model's tags survived an agent's review, per day and head.
  fetch("/triage/accuracy/?days=30", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((accuracy) => {
      if (!accuracy) return;
      const days = [...new Set(["intent", "sentiment"].flatMap(
        (head) => accuracy[head].by_day.map((d) => d.day)))].sort();
      const series = (head) => {
        const byDay = new Map(accuracy[head].by_day.map((d) => [d.day, Math.round(d.accuracy * 1000) / 10]));
        return days.map((day) => (byDay.has(day) ? byDay.get(day) : null));
      };
      chart("triage-accuracy", {
        type: "line",
        data: {
          labels: days,
          datasets: [
            { label: gettext("Intent"), data: series("intent"), borderColor: COLOURS.blue,
              backgroundColor: COLOURS.blue, spanGaps: true },
            { label: gettext("Sentiment"), data: series("sentiment"), borderColor: COLOURS.orange,
              backgroundColor: COLOURS.orange, spanGaps: true, borderDash: [6, 3] },
          ],
        },
        options: axes(gettext("Day"), gettext("% kept"), { min: 0, max: 100 }),
      }, gettext("Day"));
    });

  fetch("/api/reports/spikes/?" + query, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : { data: [] }))
    .then((body) => drawVolume(body.data))
    .catch(() => drawVolume([]));

  // The heatmap is a table: exact counts, shaded by volume.
  fetch("/api/reports/heatmap/?" + query, { credentials: "same-origin" })
    .then((response) => response.json())
    .then((body) => {
      const heat = body.data;
      const max = Math.max(1, ...heat.cells.flat());
      const table = document.querySelector("#heatmap tbody");
      const head = table.insertRow();
      head.appendChild(document.createElement("th"));
      for (const hour of heat.hours) {
        const th = document.createElement("th");
        th.textContent = hour;
        head.appendChild(th);
      }
      heat.cells.forEach((counts, day) => {
        const row = table.insertRow();
        const th = document.createElement("th");
        th.textContent = heat.weekdays[day];
        row.appendChild(th);
        counts.forEach((count, hour) => {
          const td = row.insertCell();
          td.textContent = count || "";
          td.title = count + " posts, " + heat.weekdays[day] + " " + heat.hours[hour] + ":00";
          // At most 70 % of the colour, so the count in the page's ink stays readable (4.5:1)
          // on every shade, in the light and the dark theme (white text fails at mid shades).
          td.style.background = "rgba(0, 114, 178, " + ((0.7 * count) / max).toFixed(2) + ")";
        });
      });
    });
})();
