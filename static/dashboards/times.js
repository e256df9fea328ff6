// How the dashboards show instants: "4 min ago", "due 14:05", "15 min" (waited), in the
// agent's own time zone (their profile: <body data-time-zone>, not the browser's clock) and
// language (<html lang>), the exact instant on hover. Server-rendered <time data-format>
// elements are upgraded here and kept fresh; the cockpit draws its pushes with the same code.
(function () {
  "use strict";

  const zone = document.body.dataset.timeZone || undefined;
  const language = document.documentElement.lang || undefined;

  function inZone(date, options) {
    try {
      return date.toLocaleString(language, Object.assign({ timeZone: zone }, options));
    } catch (error) {
      return date.toLocaleString(undefined, options); // an unknown zone: the browser's
    }
  }

  function duration(ms) {
    const seconds = Math.floor(Math.abs(ms) / 1000);
    if (seconds < 60) return interpolate(gettext("%(n)s s"), { n: seconds }, true);
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return interpolate(gettext("%(n)s min"), { n: minutes }, true);
    const hours = Math.floor(minutes / 60);
    if (hours < 24) {
      return interpolate(gettext("%(hours)s h %(minutes)s min"),
        { hours: hours, minutes: String(minutes % 60).padStart(2, "0") }, true);
    }
    return interpolate(gettext("%(days)s d %(hours)s h"), { days: Math.floor(hours / 24), hours: hours % 24 }, true);
  }

  // The same calendar day in the agent's zone.
  function sameDay(a, b) {
    const day = { year: "numeric", month: "2-digit", day: "2-digit" };
    return inZone(a, day) === inZone(b, day);
  }

  function clock(date) {
    const time = inZone(date, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    if (sameDay(date, new Date())) return time;
    return inZone(date, { day: "numeric", month: "short" }) + " " + time;
  }

  function exact(date) {
    return inZone(date, {
      weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short",
    });
  }

  function text(format, date) {
    const ms = Date.now() - date.getTime();
    if (format === "ago") {
      if (Math.abs(ms) < 10000) return gettext("just now");
      return interpolate(ms > 0 ? gettext("%(duration)s ago") : gettext("in %(duration)s"),
        { duration: duration(ms) }, true);
    }
    if (format === "waited") return duration(ms);
    if (format === "due") return interpolate(gettext("due %(when)s"), { when: clock(date) }, true);
    return clock(date);
  }

  // A <time> element for an ISO instant (null gives "—").
  function element(format, iso) {
    if (!iso) return document.createTextNode("—");
    const date = new Date(iso);
    const time = document.createElement("time");
    time.dateTime = iso;
    time.dataset.format = format;
    time.title = format === "waited" ? interpolate(gettext("since %(when)s"), { when: exact(date) }, true) : exact(date);
    time.textContent = text(format, date);
    return time;
  }

  function refresh(root) {
    (root || document).querySelectorAll("time[data-format]").forEach((time) => {
      const date = new Date(time.dateTime);
      if (Number.isNaN(date.getTime())) return;
      time.textContent = text(time.dataset.format, date);
      time.title = time.dataset.format === "waited"
        ? interpolate(gettext("since %(when)s"), { when: exact(date) }, true) : exact(date);
    });
  }

  window.ParleyTimes = { element, refresh, duration };
  refresh();
  setInterval(refresh, 15000);
})();
