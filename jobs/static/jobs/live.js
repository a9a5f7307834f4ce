// The job page follows its payment panel without a reload: htmx swaps the panel (and, out of band, the
// header's badge); when the panel's state changes, the quotes and the payment history beside it are
// fetched again from the job page itself, and the flash message of the page load, now stale, goes.
(() => {
  let shown = null;
  const stateOf = (panel) => [...panel.classList].find((name) => name.startsWith("panel-")) || "";
  document.addEventListener("DOMContentLoaded", () => {
    const panel = document.getElementById("payment-panel");
    if (panel) shown = stateOf(panel);
  });
  document.addEventListener("htmx:afterSettle", () => {
    const panel = document.getElementById("payment-panel");
    const main = document.getElementById("job-main");
    if (!panel || !main || !window.htmx) return;
    const state = stateOf(panel);
    if (state === shown) return;
    shown = state;
    const announcer = document.getElementById("payment-announcer");
    const status = panel.querySelector(".panel-status");
    if (announcer && status) {
      const words = status.cloneNode(true);
      words.querySelectorAll("[aria-hidden]").forEach((node) => node.remove());
      announcer.textContent = `Payment: ${words.textContent.trim()}`;
    }
    // The flash message said where the payment stood when the page loaded; the panel says it now.
    document.querySelectorAll(".messages").forEach((list) => list.remove());
    window.htmx.ajax("GET", window.location.pathname, { target: "#job-main", select: "#job-main", swap: "outerHTML" });
  });
})();
