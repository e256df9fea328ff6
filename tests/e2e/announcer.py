"""What the page says to screen readers (base.html's #announcer), recorded for assertions."""

# Keeps every text the live region is given, in order, in window.parleyE2eSaid.
RECORD_ANNOUNCEMENTS = """() => {
  window.parleyE2eSaid = [];
  const region = document.getElementById("announcer");
  new MutationObserver(() => window.parleyE2eSaid.push(region.textContent))
    .observe(region, { childList: true, characterData: true, subtree: true });
}"""
