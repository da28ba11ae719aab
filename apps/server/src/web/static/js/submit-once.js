// Loaded on every page: once a POST form is submitted, further submits of that form are ignored until
// the answer replaces the page (a double-click, an impatient second press on a slow line). The form is
// marked at once, in the submit event, so a second click in the same instant is refused too; its
// submit buttons are disabled a task later, after the browser has read the form (a disabled button's
// name and value would be left out of the data sent). A submit some other script cancelled (a page that
// checks a form itself and refuses it) locks nothing. Coming back from the back/forward cache unlocks.
const locked = new WeakSet();

const buttons = (form) =>
  [...form.elements].filter((e) => e.type === 'submit' || (e.tagName === 'BUTTON' && !e.type));

function unlock(form) {
  locked.delete(form);
  form.removeAttribute('aria-busy');
  for (const b of buttons(form))
    if (b.hasAttribute('data-submit-once')) {
      b.disabled = false;
      b.removeAttribute('data-submit-once');
    }
}

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || (event.submitter?.formMethod || form.method) !== 'post') return;
  if (locked.has(form)) {
    event.preventDefault();
    return;
  }
  if (event.defaultPrevented) return;
  locked.add(form);
  setTimeout(() => {
    // A listener after this one may still have cancelled the submit: then nothing was sent.
    if (event.defaultPrevented) return unlock(form);
    form.setAttribute('aria-busy', 'true');
    for (const b of buttons(form))
      if (!b.disabled) {
        b.disabled = true;
        b.setAttribute('data-submit-once', '');
      }
  });
});

window.addEventListener('pageshow', (event) => {
  if (event.persisted) for (const form of document.forms) unlock(form);
});
