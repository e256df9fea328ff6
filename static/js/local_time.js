// Times in the agent's own zone and language, whatever the browser's clock says: the server
// puts the agent's zone (their profile, or the server's) on <body data-time-zone> and their
// language on <html lang>. Pages format every instant they draw through ParleyTime.format.
window.ParleyTime = (function () {
  const zone = document.body.dataset.timeZone || undefined;
  const language = document.documentElement.lang || undefined;
  const formats = {};

  function formatter(options) {
    const key = JSON.stringify(options);
    if (!formats[key]) {
      try {
        formats[key] = new Intl.DateTimeFormat(language, Object.assign({ timeZone: zone }, options));
      } catch (error) {
        // An unknown zone or language: the browser's own, rather than no time at all.
        formats[key] = new Intl.DateTimeFormat(undefined, options);
      }
    }
    return formats[key];
  }

  return {
    zone: zone,
    // "Wed 2 Dec, 09:15" (the server's "D j M, H:i") in the agent's zone; options override.
    format: function (value, options) {
      const date = value instanceof Date ? value : new Date(value);
      if (isNaN(date)) return "";
      return formatter(options || {
        weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
        hourCycle: "h23",
      }).format(date);
    },
  };
})();
