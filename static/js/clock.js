// Shared by the inbox and conversation pages: how an SLA countdown reads.
window.ParleyClock = {
  formatRemaining: function (ms) {
    const total = Math.floor(Math.abs(ms) / 1000);
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor(total / 60) % 60;
    const seconds = String(total % 60).padStart(2, "0");
    const clock = hours ? hours + ":" + String(minutes).padStart(2, "0") + ":" + seconds
      : minutes + ":" + seconds;
    return clock + (ms < 0 ? " overdue" : " left");
  },
  // How long a customer has waited: "45 s", "12 min", "3 h 05", "2 d".
  formatWaited: function (ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + String(minutes % 60).padStart(2, "0");
    return Math.floor(hours / 24) + " d";
  },
};
