// Test helper (excluded from the build): a cookie-keeping JSON client for the app, checking every
// /api/v1 answer against the OpenAPI document the app serves.
import type { Hono } from 'hono';
import { createResponseValidator } from './test-openapi.ts';
import { TEST_PASSWORD } from './test-seed.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers are checked against the OpenAPI document, then read freely
export type ApiAnswer = { status: number; body: any; headers: Headers; text: string };

type AppLike = { request: Hono['request'] };

const validators = new WeakMap<object, ReturnType<typeof createResponseValidator>>();

async function validatorFor(app: AppLike) {
  let v = validators.get(app);
  if (!v) {
    v = createResponseValidator((await (await app.request('/api/openapi.json')).json()) as never);
    validators.set(app, v);
  }
  return v;
}

export type ApiClient = {
  cookie: string | undefined;
  csrf: string | undefined;
  request(
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string>; csrf?: boolean },
  ): Promise<ApiAnswer>;
  signIn(email: string, password: string): Promise<ApiAnswer>;
};

/** The session cookie from a response (either name), undefined when cleared. */
export function sessionCookieFrom(headers: Headers): { value: string; raw: string } | undefined {
  for (const raw of headers.getSetCookie()) {
    const m = /^((?:__Host-)?cti_session)=([^;]*)/.exec(raw);
    if (m) return { value: `${m[1]}=${m[2]}`, raw };
  }
  return undefined;
}

export function apiClient(app: AppLike, { validate = true }: { validate?: boolean } = {}): ApiClient {
  const client: ApiClient = {
    cookie: undefined,
    csrf: undefined,
    async request(method, path, { body, headers = {}, csrf = true } = {}) {
      const h: Record<string, string> = { ...headers };
      if (client.cookie) h.cookie = client.cookie;
      if (csrf && client.csrf && method !== 'GET') h['x-csrf-token'] = client.csrf;
      // FormData (a multipart upload) sets its own content type with the boundary.
      const raw = typeof body === 'string' || body instanceof FormData || body instanceof Uint8Array;
      if (body !== undefined && !(body instanceof FormData)) h['content-type'] ??= 'application/json';
      const res = await app.request(path, {
        method,
        headers: h,
        ...(body !== undefined ? { body: raw ? (body as RequestInit['body']) : JSON.stringify(body) } : {}),
      });
      const set = sessionCookieFrom(res.headers);
      if (set) client.cookie = set.value.endsWith('=') ? undefined : set.value;
      const text = await res.text();
      let parsed: unknown = text;
      if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
      if (validate && path.startsWith('/api/v1')) {
        (await validatorFor(app))(
          method,
          path,
          res.status,
          res.status === 204 || method === 'HEAD' ? undefined : parsed,
          res.headers.get('content-type') ?? undefined,
          res.headers,
        );
      }
      return { status: res.status, body: parsed, headers: res.headers, text };
    },
    async signIn(email, password) {
      const answer = await client.request('POST', '/api/v1/session', { body: { email, password } });
      if (answer.status === 200) client.csrf = answer.body.csrf_token;
      return answer;
    },
  };
  return client;
}

/** A signed-in client per email: signed in once with `password` (asserting 200), then reused. */
export function signedInClients(app: () => AppLike, password: string): (email: string) => Promise<ApiClient> {
  const clients = new Map<string, Promise<ApiClient>>();
  return (email) => {
    let client = clients.get(email);
    if (!client) {
      client = (async () => {
        const c = apiClient(app());
        const answer = await c.signIn(email, password);
        if (answer.status !== 200) throw new Error(`sign in as ${email}: ${answer.status} ${answer.text}`);
        return c;
      })();
      clients.set(email, client);
    }
    return client;
  };
}

/**
 * `as(email)`: one client per email, signed in (with `password`) on first use and kept for the file.
 * `app` is read when first needed, so it may be a test app started in `before`.
 *
 * @example const as = clientsByEmail(() => ctx.server.app); const res = await (await as('admin@example.com')).request('GET', '/api/v1/farms');
 */
export function clientsByEmail(
  app: () => AppLike,
  password: string = TEST_PASSWORD,
): (email: string) => Promise<ApiClient> {
  const clients = new Map<string, ApiClient>();
  return async (email) => {
    let client = clients.get(email);
    if (!client) {
      client = apiClient(app());
      const res = await client.signIn(email, password);
      if (res.status !== 200) throw new Error(`signing in as ${email} answered ${res.status}: ${res.text}`);
      clients.set(email, client);
    }
    return client;
  };
}

/** The JSON pointers a 4xx body's `problems` name, in order. */
export const problemPointers = (res: { body: { problems?: { pointer: string }[] } }): string[] =>
  (res.body.problems ?? []).map((p) => p.pointer);
