export type PaginationProps = {
  /** URL of the newer page (same filters, `before`/`after` cursor); absent on the first page. */
  newerHref?: string | null;
  /** URL of the older page; absent on the last page. */
  olderHref?: string | null;
  /** e.g. "Scans 1–50 of 1,204" — optional: keyset pagination does not always know the total. */
  status?: string;
};

/**
 * Cursor pagination: "Newer" and "Older" links (rel prev/next), no page numbers — pages are keyset
 * cursors, stable while new scans arrive. Renders nothing when there is only one page.
 */
export function Pagination({ newerHref, olderHref, status }: PaginationProps) {
  if (!newerHref && !olderHref) return status ? <p class="pagination-status">{status}</p> : null;
  return (
    <nav class="pagination" aria-label="Pages">
      {newerHref ? (
        <a href={newerHref} rel="prev" class="button button-secondary">
          <span aria-hidden="true">← </span>Newer
        </a>
      ) : (
        <span class="button button-secondary" aria-disabled="true">
          <span aria-hidden="true">← </span>Newer
        </span>
      )}
      {status && <span class="pagination-status">{status}</span>}
      {olderHref ? (
        <a href={olderHref} rel="next" class="button button-secondary">
          Older<span aria-hidden="true"> →</span>
        </a>
      ) : (
        <span class="button button-secondary" aria-disabled="true">
          Older<span aria-hidden="true"> →</span>
        </span>
      )}
    </nav>
  );
}

/** `base` with `params` set (empty values removed): builds the older/newer links keeping the filters. */
export function pageHref(base: string, params: Record<string, string | null | undefined>): string {
  const url = new URL(base, 'http://x');
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') url.searchParams.delete(k);
    else url.searchParams.set(k, v);
  }
  return `${url.pathname}${url.search}`;
}
