import type { ApiDeps } from './api-deps.ts';
import type { ApiRoute, JsonSchema } from './api-route.ts';
import { assetSchema } from './asset-views.ts';
import { meRoutes } from './me.ts';
import { gradingResultSchema, scanDetailSchema, scanListItemSchema } from './scan-views.ts';
import { scanRoutes } from './scans.ts';
import { sessionRoutes } from './session.ts';
import { currentUserSchema, sessionSchema, userSchema } from './user-schemas.ts';

/** Every /api/v1 route, one factory per resource file. A new resource is one line here. */
export function apiRoutes(deps: ApiDeps): ApiRoute[] {
  return [sessionRoutes, meRoutes, scanRoutes].flatMap((factory) => factory(deps));
}

/** Named schemas for components/schemas of the OpenAPI document. */
export const apiSchemas: Record<string, JsonSchema> = {
  Asset: assetSchema,
  ScanListItem: scanListItemSchema,
  ScanDetail: scanDetailSchema,
  GradingResult: gradingResultSchema,
  CurrentUser: currentUserSchema,
  Session: sessionSchema,
  User: userSchema,
};
