// Test helper (excluded from the build): a signed-in browser-like client for the pages, through
// app.request (no port): keeps the session cookie, sends forms with the session's `_csrf` and a
// same-origin Origin header, as a browser would.
import type { Hono } from 'hono';
import { type ApiClient, apiClient } from '../../test-api-client.ts';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { elements } from '../test-svg.ts';

export type PageAnswer = { status: number; html: string; headers: Headers; location: string | null };

export type PageClient = {
  api: ApiClient;
  get(path: string): Promise<PageAnswer>;
  post(
    path: string,
    fields?: Record<string, string | string[]>,
    options?: { csrf?: string | false },
  ): Promise<PageAnswer>;
};

type AppLike = { request: Hono['request'] };

export async function pageClient(
  app: AppLike,
  email?: string,
  password = TEST_PASSWORD,
): Promise<PageClient> {
  const api = apiClient(app, { validate: false });
  if (email) {
    const res = await api.signIn(email, password);
    if (res.status !== 200) throw new Error(`sign-in as ${email} failed: ${res.status} ${res.text}`);
  }
  const answer = async (res: Response): Promise<PageAnswer> => ({
    status: res.status,
    html: await res.text(),
    headers: res.headers,
    location: res.headers.get('location'),
  });
  const cookie = (): Record<string, string> => (api.cookie ? { cookie: api.cookie } : {});
  return {
    api,
    async get(path) {
      return answer(await app.request(path, { headers: { accept: 'text/html', ...cookie() } }));
    },
    async post(path, fields = {}, { csrf } = {}) {
      const body = new URLSearchParams();
      const token = csrf === undefined ? api.csrf : csrf;
      if (token) body.append('_csrf', token);
      for (const [k, v] of Object.entries(fields)) {
        for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
      }
      return answer(
        await app.request(path, {
          method: 'POST',
          body: body.toString(),
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            origin: 'http://localhost',
            accept: 'text/html',
            ...cookie(),
          },
        }),
      );
    },
  };
}

/** The text of the element with this id (tags stripped, whitespace collapsed); undefined when absent. */
export function textById(html: string, id: string): string | undefined {
  const start = html.indexOf(`id="${id}"`);
  if (start < 0) return undefined;
  const open = html.lastIndexOf('<', start);
  const tag = /^<([a-z0-9]+)/i.exec(html.slice(open))?.[1];
  if (!tag) return undefined;
  let depth = 0;
  const re = new RegExp(`<(/?)${tag}\\b[^>]*>`, 'gi');
  re.lastIndex = open;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    depth += m[1] ? -1 : 1;
    if (depth === 0) return strip(html.slice(open, m.index + m[0].length));
  }
  return undefined;
}

export const strip = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();

/**
 * The Animal field of a page (animal-field.tsx): its text, and the tags it offers as [value, label]
 * (null: no list, the herd is too big); undefined when the page has none.
 */
export function animalFieldOf(
  html: string,
): { value: string; offered: [string, string][] | null } | undefined {
  const input = elements(html, 'input').find((i) => i.attrs.name === 'animal');
  if (!input) return undefined;
  const list = input.attrs.list
    ? new RegExp(`<datalist id="${input.attrs.list}">([\\s\\S]*?)</datalist>`).exec(html)?.[1]
    : undefined;
  const offered =
    list === undefined
      ? null
      : elements(list, 'option').map((o): [string, string] => [o.attrs.value!, o.text]);
  return { value: input.attrs.value ?? '', offered };
}

/** The scan page's "Farm and animal" form as shown (farm_was, animal_shown), with the Animal field typed in. */
export const assignmentTyped = (page: string, animal: string) => ({
  farm_was: /name="farm_was" value="([^"]*)"/.exec(page)![1]!,
  animal_shown: /name="animal_shown" value="([^"]*)"/.exec(page)![1]!,
  animal,
});
