import type { Child } from 'hono/jsx';

export type Column<Row> = {
  /** Column heading; also the label a phone shows beside each cell when the table collapses. */
  header: string;
  cell: (row: Row) => Child;
  /** Right-aligned, tabular figures. */
  numeric?: boolean;
  /** Shown first and large on a phone (the row's title). */
  primary?: boolean;
  /** Hidden on narrow screens (still in the markup and for screen readers). */
  wideOnly?: boolean;
  /**
   * Hidden on a tablet (48–64rem wide: 768 and 1024 px iPads, 800 px Android tablets), where every
   * visible column must fit the width without sideways scrolling. Still in the markup (a desktop shows
   * it; a phone's card too, unless `wideOnly`): give only what the row's detail page also shows.
   */
  tabletHidden?: boolean;
};

export type DataTableProps<Row> = {
  caption: string;
  /** Say the caption only to screen readers (the page heading already says it). */
  captionHidden?: boolean;
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  /** Attributes per row, e.g. `data-scan-id` for live updates. */
  rowAttrs?: (row: Row) => Record<string, string>;
  id?: string;
  /** Attributes on the <table>, e.g. `data-live-src` for the live-update script. */
  attrs?: Record<string, string>;
};

/**
 * A real table (headers, scope, caption). On a screen under 48rem (768 px: a phone, upright or on its
 * side, a small tablet) app.css turns each row into a card, each
 * cell prefixed by its column name from `data-label` — readable on a phone without sideways scrolling.
 * On a tablet (48–64rem) the table stays a table: columns marked `tabletHidden` are hidden by a media
 * query and cells are tighter, so the columns that matter fit without sideways scrolling. Whatever
 * still does not fit (a pasted word of hundreds of letters) scrolls in the table's own box
 * (`.table-scroll`) instead of widening the page.
 */
export function DataTable<Row>({
  caption,
  captionHidden,
  columns,
  rows,
  rowAttrs,
  id,
  attrs = {},
}: DataTableProps<Row>) {
  return (
    <div class="table-scroll">
      <table class="data-table" id={id} {...attrs}>
        <caption class={captionHidden ? 'visually-hidden' : undefined}>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" class={cellClass(c)}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{rows.map((row) => TableRow({ row, columns, attrs: rowAttrs?.(row) }))}</tbody>
      </table>
    </div>
  );
}

/** One `<tr>` as DataTable renders it; also used alone to send a row to the live-update script. */
export function TableRow<Row>({
  row,
  columns,
  attrs = {},
}: {
  row: Row;
  columns: readonly Column<Row>[];
  attrs?: Record<string, string>;
}) {
  return (
    <tr {...attrs}>
      {columns.map((c) => (
        <td data-label={c.header} class={cellClass(c)}>
          {c.cell(row)}
        </td>
      ))}
    </tr>
  );
}

type CellFlags = Pick<Column<unknown>, 'numeric' | 'primary' | 'wideOnly' | 'tabletHidden'>;

function cellClass(c: CellFlags): string | undefined {
  const classes = [
    c.numeric && 'num',
    c.primary && 'cell-primary',
    c.wideOnly && 'wide-only',
    c.tabletHidden && 'tablet-hidden',
  ];
  return classes.filter(Boolean).join(' ') || undefined;
}
