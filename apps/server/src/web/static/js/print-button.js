// The printable report's "Print or save as PDF" button: shown only when this script runs (without it
// the browser's own Print command does the same), and hidden on paper by the print stylesheet.
for (const button of document.querySelectorAll('[data-print-button]')) {
  button.hidden = false;
  button.addEventListener('click', () => window.print());
}
