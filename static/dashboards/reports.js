// Report charts, drawn by the locally served Chart.js from the page's own numbers (the same
// JSON /api/reports/kpis/ returns) and the spikes from /api/reports/spikes/.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const query = document.currentScript ? document.currentScript.dataset.query : "";
  const minutes = (seconds) => (seconds === null ? null : seconds / 60);

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

  function chart(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return null;
    const made = new window.Chart(canvas, config);
    drawn += 1;
    charts.dataset.chartsDrawn = String(drawn); // lets a test (or a human) see they exist
    return made;
  }

  function drawVolume(spikes) {
    const days = data.sentiment.days;
    const labels = days.map((d) => d.day);
    const spikeDays = new Set(spikes.map((s) => s.detected_at.slice(0, 10)));
    chart("chart-volume", {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: "Negative", data: days.map((d) => d.negative), borderColor: "#c92a2a" },
          { label: "Positive", data: days.map((d) => d.positive), borderColor: "#2b8a3e" },
          {
            label: "All posts",
            data: days.map((d) => d.positive + d.neutral + d.negative + d.untriaged),
            borderColor: "#3b5bdb",
          },
          {
            label: "Spike detected",
            showLine: false,
            data: days.map((d) =>
              spikeDays.has(d.day) ? d.positive + d.neutral + d.negative + d.untriaged : null),
            pointRadius: 8,
            pointStyle: "triangle",
            backgroundColor: "#e67700",
          },
        ],
      },
    });
  }

  chart("chart-platforms", {
    type: "doughnut",
    data: {
      labels: data.volume.platforms.map((p) => p.label),
      datasets: [{ data: data.volume.platforms.map((p) => p.posts) }],
    },
  });
  chart("chart-resolution", {
    type: "bar",
    data: {
      labels: data.resolution_by_intent.map((r) => r.label),
      datasets: [{ label: "Median", data: data.resolution_by_intent.map((r) => minutes(r.median_seconds)) },
                 { label: "p90", data: data.resolution_by_intent.map((r) => minutes(r.p90_seconds)) }],
    },
  });
  chart("chart-agents", {
    type: "bar",
    data: {
      labels: data.handling_time.by_agent.map((a) => a.agent),
      datasets: [{ label: "Average", data: data.handling_time.by_agent.map((a) => minutes(a.average_seconds)) }],
    },
  });

  // How often the model's tags survived an agent's review, per day and head.
  fetch("/triage/accuracy/?days=30", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((accuracy) => {
      if (!accuracy) return;
      const days = [...new Set(["intent", "sentiment"].flatMap(
        (head) => accuracy[head].by_day.map((d) => d.day)))].sort();
      const series = (head) => {
        const byDay = new Map(accuracy[head].by_day.map((d) => [d.day, d.accuracy * 100]));
        return days.map((day) => (byDay.has(day) ? byDay.get(day) : null));
      };
      chart("chart-triage-accuracy", {
        type: "line",
        data: {
          labels: days,
          datasets: [
            { label: "Intent (% agreed)", data: series("intent"), borderColor: "#3b5bdb", spanGaps: true },
            { label: "Sentiment (% agreed)", data: series("sentiment"), borderColor: "#2b8a3e", spanGaps: true },
          ],
        },
        options: { scales: { y: { min: 0, max: 100 } } },
      });
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
        counts.forEach((count) => {
          const td = row.insertCell();
          td.textContent = count || "";
          // At most 70 % of the accent, so the dark count stays readable (4.5:1) on every shade.
          td.style.background = "rgba(59, 91, 219, " + ((0.7 * count) / max).toFixed(2) + ")";
        });
      });
    });
})();
