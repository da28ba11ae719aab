/** Helpers for the postgres:// URLs the test helper derives from CTI_TEST_DATABASE_URL. */

export function parseDatabaseUrl(url: string, settingName: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${settingName} is not a URL: ${redactUrl(url)}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`${settingName} must start with postgres://, got ${redactUrl(url)}`);
  }
  if (databaseName(parsed) === '') {
    throw new Error(`${settingName} names no database (expected postgres://user:pass@host:port/dbname)`);
  }
  return parsed;
}

export function databaseName(url: URL): string {
  return decodeURIComponent(url.pathname.replace(/^\//, ''));
}

/** The same server and credentials, another database. */
export function withDatabase(url: URL, name: string): string {
  const copy = new URL(url.href);
  copy.pathname = `/${encodeURIComponent(name)}`;
  return copy.href;
}

/** The URL without its password, for error messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** Double-quoted SQL identifier, for statements that take no parameters (CREATE/DROP DATABASE). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Single-quoted SQL string literal (standard_conforming_strings is on since Postgres 9.1). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
