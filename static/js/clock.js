// Shared by the inbox and conversation pages: how an SLA countdown reads.
window.ParleyClock = {
  formatRemaining: function (ms) {
    const total = Math.floor(Math.abs(ms) / 1000);
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor(total / 60) % 60;
    const seconds = String(total % 60).padStart(2, "0");
    const clock = hours ? hours + ":" + String(minutes).padStart(2, "0") + ":" + seconds
      : minutes + ":" + seconds;
    return interpolate(ms < 0 ? gettext("%(clock)s overdue") : gettext("%(clock)s left"), { clock: clock }, true);
  },
  // How long a customer has waited: "45 s", "12 min", "3 h 05", "2 d".
  formatWaited: function (ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return interpolate(gettext("%(n)s s"), { n: seconds }, true);
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return interpolate(gettext("%(n)s min"), { n: minutes }, true);
    const hours = Math.floor(minutes / 60);
    if (hours < 48) {
      return interpolate(gettext("%(hours)s h %(minutes)s"),
        { hours: hours, minutes: String(minutes % 60).padStart(2, "0") }, true);
    }
    return interpolate(gettext("%(n)s d"), { n: Math.floor(hours / 24) }, true);
  },
};
