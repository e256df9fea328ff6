// How the dashboards show instants: "4 min ago", "due 14:05", "15 min" (waited), in the
// reader's own timezone, the exact instant on hover. Server-rendered <time data-format>
// elements are upgraded here and kept fresh; the cockpit draws its pushes with the same code.
(function () {
  "use strict";

  function duration(ms) {
    const seconds = Math.floor(Math.abs(ms) / 1000);
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + " h " + String(minutes % 60).padStart(2, "0") + " min";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
      a.getDate() === b.getDate();
  }

  function clock(date) {
    const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
    if (sameDay(date, new Date())) return time;
    return date.toLocaleDateString([], { day: "numeric", month: "short" }) + " " + time;
  }

  function exact(date) {
    return date.toLocaleString([], {
      weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short",
    });
  }

  function text(format, date) {
    const ms = Date.now() - date.getTime();
    if (format === "ago") {
      if (Math.abs(ms) < 10000) return "just now";
      return ms > 0 ? duration(ms) + " ago" : "in " + duration(ms);
    }
    if (format === "waited") return duration(ms);
    if (format === "due") return "due " + clock(date);
    return clock(date);
  }

  // A <time> element for an ISO instant (null gives "—").
  function element(format, iso) {
    if (!iso) return document.createTextNode("—");
    const date = new Date(iso);
    const time = document.createElement("time");
    time.dateTime = iso;
    time.dataset.format = format;
    time.title = (format === "waited" ? "since " : "") + exact(date);
    time.textContent = text(format, date);
    return time;
  }

  function refresh(root) {
    (root || document).querySelectorAll("time[data-format]").forEach((time) => {
      const date = new Date(time.dateTime);
      if (Number.isNaN(date.getTime())) return;
      time.textContent = text(time.dataset.format, date);
      time.title = (time.dataset.format === "waited" ? "since " : "") + exact(date);
    });
  }

  window.ParleyTimes = { element, refresh, duration };
  refresh();
  setInterval(refresh, 15000);
})();
