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
};
