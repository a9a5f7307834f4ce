// The receipt's "Print or save as PDF" button: the browser's print dialog (the print stylesheet in
// site.css keeps only the receipt). A script file, since the Content-Security-Policy forbids inline ones.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
