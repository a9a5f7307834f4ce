// The receipt's "Print or save as PDF" button: the browser's print dialog (the print stylesheet in
// site.css keeps only the receipt), with the technical details opened, since paper cannot open them.
// A script file, since the Content-Security-Policy forbids inline ones.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
window.addEventListener("beforeprint", () => {
  for (const details of document.querySelectorAll("details.technical-details")) details.open = true;
});
