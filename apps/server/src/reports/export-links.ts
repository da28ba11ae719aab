/**
 * The dashboard's download links to the export API with a page's filters (`query`, already URL
 * encoded). The CSV link asks for the UTF-8 byte order mark: Excel on Windows opens a double-clicked
 * CSV without one in the ANSI code page, garbling every accented farm name, breed or tag. The API's
 * own default stays without the mark, for programs.
 *
 * @example exportHref('csv', 'farm_id=…') // '/api/v1/exports/scans.csv?farm_id=…&bom=true'
 */
export function exportHref(kind: 'csv' | 'geojson', query: string): string {
  const params = [query, kind === 'csv' ? 'bom=true' : ''].filter(Boolean).join('&');
  return `/api/v1/exports/scans.${kind}${params ? `?${params}` : ''}`;
}
