import {
  loadNotificationSettings,
  type NotificationSettings,
  saveNotificationSettings,
} from '../notifications/notification-settings.ts';
import { NOTIFICATION_TYPE_NAMES, typesForRoles } from '../notifications/notification-types.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import { object, ref } from './common-schemas.ts';

const typeMap = (description: string): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(NOTIFICATION_TYPE_NAMES.map((t) => [t, { type: 'boolean' }])),
  description,
});

export const notificationSettingsSchema: JsonSchema = object({
  enabled: {
    ...typeMap('Every notification type the server sends: true = you receive it (the default), false = off.'),
    required: NOTIFICATION_TYPE_NAMES,
  },
  your_types: {
    type: 'array',
    items: { enum: NOTIFICATION_TYPE_NAMES },
    description:
      'The types your roles can receive (the account page shows these); a setting for another type is kept but has no effect.',
  },
});

const changeSchema: JsonSchema = object({
  enabled: {
    ...typeMap(
      'The types to set; types left out keep their setting. Any other name is refused (422 naming it).',
    ),
    minProperties: 1,
  },
});

/** /me/notification-settings: which notification types the signed-in user receives (every role, their own). */
export function notificationSettingsRoutes({ sql }: ApiDeps): ApiRoute[] {
  const answer = (roles: Parameters<typeof typesForRoles>[0], enabled: NotificationSettings) => ({
    enabled,
    your_types: typesForRoles(roles),
  });
  return [
    route({
      method: 'get',
      path: '/me/notification-settings',
      tag: 'me',
      summary: 'Which notification types you receive',
      access: 'user',
      responses: { 200: { description: 'Your settings', schema: ref('NotificationSettings') } },
      async handler({ c, principal }) {
        return c.json(answer(principal.roles, await loadNotificationSettings(sql, principal.userId)));
      },
    }),
    route<Record<string, never>, { enabled: Partial<NotificationSettings> }>({
      method: 'put',
      path: '/me/notification-settings',
      tag: 'me',
      summary: 'Turn notification types on or off for yourself',
      description:
        'Sets the types named in `enabled`; the others keep their setting. A type turned off is not ' +
        'written for you from then on (notifications you already have stay); turned on again, the next ' +
        'events reach you.',
      access: 'user',
      body: changeSchema,
      responses: {
        200: { description: 'Your settings after the change', schema: ref('NotificationSettings') },
      },
      async handler({ c, principal, body }) {
        const saved = await saveNotificationSettings(sql, principal.userId, body.enabled);
        return c.json(answer(principal.roles, saved));
      },
    }),
  ];
}
