// Live scans list: listens to the Server-Sent Events stream named by the table's data-live-src and puts
// each scan row the server renders into place — replaced if the scan is listed, inserted in captured-time
// order if new. EventSource reconnects by itself after a network error; when the browser gives up (the
// server answered an error), this reconnects with a capped, jittered backoff.
const table = document.querySelector('table[data-live-src]');
const status = document.querySelector('[data-live-status]');

if (table) connect(table.dataset.liveSrc, 0);

function connect(src, attempt) {
  const events = new EventSource(src, { withCredentials: true });
  table.dataset.live = 'connecting';
  events.addEventListener('open', () => {
    attempt = 0;
    table.dataset.live = 'open';
  });
  // The server says `ready` once this viewer's subscription is in place: from then on no scan is missed.
  events.addEventListener('ready', () => {
    table.dataset.live = 'ready';
  });
  // The server ends the stream with `reload` when this viewer's session is over or they lost access
  // to a farm: reload (to sign-in, or to the list they may see now) rather than reconnect.
  events.addEventListener('reload', () => {
    events.close();
    location.reload();
  });
  events.addEventListener('scan', (e) => {
    try {
      place(JSON.parse(e.data));
    } catch {
      // A malformed event is skipped; the next one may be fine.
    }
  });
  events.addEventListener('error', () => {
    if (events.readyState !== EventSource.CLOSED) {
      table.dataset.live = 'reconnecting';
      return;
    }
    table.dataset.live = 'closed';
    const delay = Math.min(30_000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
    setTimeout(() => connect(src, attempt + 1), delay);
  });
}

function place({ id, capturedAt, html, label }) {
  const template = document.createElement('template');
  template.innerHTML = html;
  const row = template.content.querySelector('tr');
  if (!row || row.dataset.scanId !== id) return;
  const body = table.tBodies[0] ?? table.createTBody();
  const existing = [...body.rows].find((r) => r.dataset.scanId === id);
  row.classList.add('row-new');
  if (existing) {
    existing.replaceWith(row);
  } else {
    const t = Date.parse(capturedAt ?? '') || Number.POSITIVE_INFINITY;
    const after = [...body.rows].find((r) => (Date.parse(r.dataset.capturedAt ?? '') || 0) < t);
    if (after) body.insertBefore(row, after);
    else if (body.rows.length === 0 || table.dataset.liveAppend === 'true') body.append(row);
    else return; // older than the whole page: it belongs on an older page
  }
  for (const empty of document.querySelectorAll('[data-live-empty]')) empty.remove();
  if (status && label) status.textContent = label;
}
