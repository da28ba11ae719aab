import { correctionRoutes } from '../corrections/corrections-api.ts';
import { exportRoutes } from '../reports/export-api.ts';
import { reportRoutes, reportSchema } from '../reports/report-api.ts';
import { animalRoutes, animalSchema } from './animals.ts';
import { announcementRoutes, announcementSchema } from './announcements.ts';
import type { ApiDeps } from './api-deps.ts';
import type { ApiRoute, JsonSchema } from './api-route.ts';
import { assetSchema } from './asset-views.ts';
import { assetRoutes } from './assets.ts';
import {
  calibrationChangeSchema,
  calibrationSchema,
  deviceCalibrationsSchema,
  deviceChangeSchema,
  deviceHealthSchema,
  deviceRoutes,
  deviceSchema,
} from './devices.ts';
import { farmMemberRoutes } from './farm-members.ts';
import { farmRoutes, farmSchema } from './farms.ts';
import { groupRoutes, groupSchema } from './groups.ts';
import { meRoutes } from './me.ts';
import { notificationSettingsRoutes, notificationSettingsSchema } from './notification-settings.ts';
import { notificationRoutes, notificationSchema } from './notifications.ts';
import { registrationRoutes, registrationSchema } from './registrations.ts';
import { gradingResultSchema, scanDetailSchema, scanListItemSchema } from './scan-views.ts';
import { scanRoutes } from './scans.ts';
import { sessionRoutes } from './session.ts';
import { currentUserSchema, sessionSchema, userSchema } from './user-schemas.ts';
import { userRoutes } from './users.ts';

/** Every /api/v1 route, one factory per resource file. A new resource is one line here. */
export function apiRoutes(deps: ApiDeps): ApiRoute[] {
  return [
    sessionRoutes,
    meRoutes,
    notificationSettingsRoutes,
    scanRoutes,
    correctionRoutes,
    assetRoutes,
    deviceRoutes,
    farmRoutes,
    farmMemberRoutes,
    animalRoutes,
    groupRoutes,
    userRoutes,
    registrationRoutes,
    announcementRoutes,
    notificationRoutes,
    reportRoutes,
    exportRoutes,
  ].flatMap((factory) => factory(deps));
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
  Farm: farmSchema,
  Animal: animalSchema,
  Group: groupSchema,
  Device: deviceSchema,
  DeviceChange: deviceChangeSchema,
  DeviceCalibration: calibrationSchema,
  DeviceCalibrations: deviceCalibrationsSchema,
  DeviceHealth: deviceHealthSchema,
  DeviceCalibrationChange: calibrationChangeSchema,
  Registration: registrationSchema,
  Announcement: announcementSchema,
  Notification: notificationSchema,
  NotificationSettings: notificationSettingsSchema,
  Report: reportSchema,
};
