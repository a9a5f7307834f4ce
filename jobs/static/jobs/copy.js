// The "Copy" button next to a payment link. Delegated from the document, so it keeps working after
// htmx swaps the payment panel.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copyTarget);
  if (!input) return;
  const done = (label) => {
    button.textContent = label;
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(() => done("Copied"), () => { input.select(); done("Press Ctrl+C"); });
  } else {
    input.select();
    done("Press Ctrl+C");
  }
});
