// Live scans list: listens to the Server-Sent Events stream named by the table's data-live-src and puts
// each scan row the server renders into place — replaced if the scan is listed, inserted in captured-time
// order if new. EventSource reconnects by itself after a network error; when the browser gives up (the
// server answered an error, e.g. 429 for too many live lists), this reconnects with a capped, jittered
// backoff.
//
// A hidden tab closes its stream (visibilitychange) and opens it again when shown: over HTTP/1.1 a
// browser holds at most 6 connections per host, and six background /scans tabs each holding a stream
// would leave none for any other page of the dashboard (review r1 F11). The stream replays nothing
// (no Last-Event-ID), so after every reconnect the list catches up: once the new stream is `ready`
// (from then on no change is missed) the page is fetched again and its rows replace the table's; rows
// that arrive meanwhile are put in place after that.
const table = document.querySelector('table[data-live-src]');
const status = document.querySelector('[data-live-status]');

let events = null;
let retry = null;
let attempt = 0;

if (table) {
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') pause();
    else if (!events && retry === null) connect(true);
  });
  if (document.visibilityState !== 'hidden') connect(false);
  else table.dataset.live = 'paused';
}

function pause() {
  clearTimeout(retry);
  retry = null;
  events?.close();
  events = null;
  table.dataset.live = 'paused';
}

/** `stale`: the rows may be older than the stream (a tab shown again, a retry): catch up on `ready`. */
function connect(stale) {
  retry = null;
  const source = new EventSource(table.dataset.liveSrc, { withCredentials: true });
  events = source;
  let held = null; // rows that arrive while the list catches up
  let readies = 0;
  table.dataset.live = 'connecting';
  source.addEventListener('open', () => {
    attempt = 0;
    table.dataset.live = 'open';
  });
  // The server says `ready` once this viewer's subscription is in place: from then on no scan is missed.
  source.addEventListener('ready', () => {
    // The browser's own reconnect after a network error says `ready` again: it missed rows too.
    if (readies++ === 0 && !stale) {
      table.dataset.live = 'ready';
      return;
    }
    held = [];
    table.dataset.live = 'catching-up';
    catchUp().then(() => {
      const rows = held ?? [];
      held = null;
      for (const row of rows) place(row);
      if (events === source) table.dataset.live = 'ready';
    });
  });
  // The server ends the stream with `reload` when this viewer's session is over or they lost access
  // to a farm: reload (to sign-in, or to the list they may see now) rather than reconnect.
  source.addEventListener('reload', () => {
    source.close();
    location.reload();
  });
  source.addEventListener('scan', (e) => {
    try {
      const row = JSON.parse(e.data);
      if (held) held.push(row);
      else place(row);
    } catch {
      // A malformed event is skipped; the next one may be fine.
    }
  });
  source.addEventListener('error', () => {
    if (events !== source) return;
    if (source.readyState !== EventSource.CLOSED) {
      table.dataset.live = 'reconnecting';
      return;
    }
    events = null;
    table.dataset.live = 'closed';
    if (document.visibilityState === 'hidden') return; // reconnects when shown
    const delay = Math.min(30_000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    retry = setTimeout(() => connect(true), delay);
  });
}

/** The list as the server has it now: this page fetched again, its rows in place of the table's. */
async function catchUp() {
  try {
    const here = location.href.split('#')[0];
    const res = await fetch(here, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (!res.ok) return; // the server is struggling: keep the rows; the next reconnect catches up
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const fresh = doc.querySelector('table[data-live-src]');
    if (!fresh || res.url !== here) {
      location.reload(); // signed out, or the page changed under us: let the browser show it
      return;
    }
    const body = table.tBodies[0] ?? table.createTBody();
    body.replaceWith(document.importNode(fresh.tBodies[0] ?? doc.createElement('tbody'), true));
    if (fresh.tBodies[0]?.rows.length) {
      for (const empty of document.querySelectorAll('[data-live-empty]')) empty.remove();
    }
  } catch {
    // Offline again: the rows stay as they were; the next reconnect catches up.
  }
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
