// The scan image's overlay toggle works without this script (a checkbox and CSS). This adds the "o" key
// and remembers the choice between pages. localStorage holds only that preference.
const KEY = 'cti.overlay';
const toggles = [...document.querySelectorAll('[data-overlay-toggle] .overlay-toggle')];

const remembered = (() => {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
})();
for (const t of toggles) {
  if (remembered) t.checked = remembered === 'on';
  t.addEventListener('change', () => {
    for (const other of toggles) other.checked = t.checked;
    try {
      localStorage.setItem(KEY, t.checked ? 'on' : 'off');
    } catch {}
  });
}

document.addEventListener('keydown', (e) => {
  if (e.key !== 'o' || e.ctrlKey || e.metaKey || e.altKey || toggles.length === 0) return;
  if (e.target.closest('input, select, textarea, [contenteditable], [data-mask-editor]')) return;
  const t = toggles[0];
  t.checked = !t.checked;
  t.dispatchEvent(new Event('change', { bubbles: true }));
});
