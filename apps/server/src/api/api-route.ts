import type { Context } from 'hono';
import type { Principal } from '../auth/principal.ts';

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

export type HttpMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** Who may call the route at all; finer rules (which farm, which role writes) live in src/access. */
export type RouteAccess = 'public' | 'user' | 'admin';

export type QueryParam = { schema: JsonSchema; description: string; required?: boolean };

/** A response header a client reads, declared under components/headers of the OpenAPI document. */
export type ResponseHeader = 'Location' | 'Content-Disposition';

export type RouteResponse = {
  description: string;
  schema?: JsonSchema;
  contentType?: string;
  /** Headers this answer carries (Retry-After comes with the shared 429/503 answers). */
  headers?: readonly ResponseHeader[];
};

/**
 * A `multipart/form-data` body (the one route that takes a file: a mask correction). The router checks
 * the media type (415) and parses it (400 when malformed); the handler gets the FormData as `body` and
 * validates the fields itself. `schema` and `encoding` describe the parts in the OpenAPI document.
 */
export type FormBody = { schema: JsonSchema; encoding?: Record<string, { contentType: string }> };

export type HandlerInput<Q, B> = {
  c: Context;
  /** Set for 'user' and 'admin' routes. */
  principal: Principal;
  /** Path parameters (already checked to be uuids where the path says `{…id}`, in lower case). */
  params: Record<string, string>;
  query: Q;
  body: B;
};

/**
 * One JSON API route: the Hono handler and its OpenAPI description in one object, so the document
 * at /api/openapi.json, the request validation and the route table cannot drift apart.
 */
export type ApiRoute<Q = Record<string, unknown>, B = unknown> = {
  method: HttpMethod;
  /** OpenAPI-style path below /api/v1, e.g. `/scans/{id}`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access: RouteAccess;
  /** Path parameter kinds; every parameter is a uuid unless named here. */
  params?: Record<string, 'integer'>;
  query?: Record<string, QueryParam>;
  body?: JsonSchema;
  /** Instead of a JSON `body`: a multipart/form-data body (the handler's `body` is its FormData). */
  form?: FormBody;
  /** Success responses by status; the error responses are added to the document for every route. */
  responses: Record<number, RouteResponse>;
  /** Error statuses beyond those implied by access level and body (e.g. 401/429 of sign-in). */
  errors?: number[];
  handler: (input: HandlerInput<Q, B>) => Promise<Response> | Response;
};

/** Keeps the route's query/body types while collecting routes of different types in one array. */
export function route<Q = Record<string, unknown>, B = unknown>(r: ApiRoute<Q, B>): ApiRoute {
  return r as unknown as ApiRoute;
}

/** `/scans/{id}` → `/scans/:id` */
export const honoPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');
