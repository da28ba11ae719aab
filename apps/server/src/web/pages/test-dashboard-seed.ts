// Test helper (excluded from the build): a small world for the dashboard's tests — two farms, a
// device each, one user per role (+ a farmer of the other farm), an animal in a group, scans graded
// with measurements, graded without pixel spacing, waiting, and one on the other farm.
import { createHash } from 'node:crypto';
import type { Sql } from 'postgres';
import { type TestAppContext, testConfig, useTestApp } from '../../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser } from '../../test-seed.ts';

export const BUCKET = 'cti-dashboard-test';

export type DashboardWorld = {
  farmA: string;
  farmB: string;
  deviceA: string;
  deviceB: string;
  animal: string;
  group: string;
  scanGraded: string;
  scanNoSpacing: string;
  scanWaiting: string;
  scanB: string;
  users: Record<'farmer' | 'technician' | 'admin' | 'stranger' | 'spareTech', { id: string; email: string }>;
  keys: { image: string; overlay: string; mask: string };
};

const sha = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');

/** An asset row for `key` (bytes given: their real hash and size). */
export async function seedAsset(sql: Sql, key: string, bytes: Uint8Array | string = key, mime = 'image/png') {
  const [a] = await sql<{ id: string }[]>`
    INSERT INTO assets (bucket, object_key, sha256, size_bytes, mime_type)
    VALUES (${BUCKET}, ${key}, ${sha(bytes)}, ${typeof bytes === 'string' ? bytes.length : bytes.byteLength}, ${mime})
    RETURNING id`;
  return a!.id;
}

/** A grading result with features, grade and reasons, and its output assets linked by role. */
export async function seedResult(
  sql: Sql,
  scanId: string,
  {
    features,
    grade = 'A',
    reasons = [],
    confidence = 0.87,
    assets = {},
    createdBy = null,
    createdAt = new Date().toISOString(),
  }: {
    features: Record<string, unknown>;
    grade?: 'A' | 'M' | 'R';
    reasons?: string[];
    confidence?: number;
    assets?: Record<string, string>;
    createdBy?: string | null;
    createdAt?: string;
  },
) {
  const [r] = await sql<{ id: string }[]>`
    INSERT INTO grading_results (scan_id, model_name, model_version, inference_sha256, confidence, confidence_breakdown,
                                 features_used, created_by, grade, grade_reasons, created_at)
    VALUES (${scanId}, ${createdBy ? 'manual' : 'ribeye-seg'}, '2.3.0', ${'d'.repeat(64)}, ${confidence},
            ${sql.json({ mask_iou: 0.84, edge_quality: 0.78, snr: 18.3 })}, ${sql.json(features as never)}, ${createdBy},
            ${grade}, ${reasons}, ${createdAt})
    RETURNING id`;
  for (const [role, asset] of Object.entries(assets)) {
    await sql`INSERT INTO grading_result_assets (grading_result_id, asset_id, role) VALUES (${r!.id}, ${asset}, ${role})`;
  }
  await sql`UPDATE scans SET status = 'graded' WHERE id = ${scanId}`;
  return r!.id;
}

/** Seeds the world; `images` (key → bytes) gives assets their real hashes (they are put in S3 by the caller). */
export async function seedDashboard(
  sql: Sql,
  images: Partial<Record<'image' | 'overlay' | 'mask', Uint8Array>> = {},
) {
  const farmA = await seedFarm(sql, 'Maple Farm', { lon: -79.38, lat: 43.65 });
  const farmB = await seedFarm(sql, 'Birch Farm', { lon: -80, lat: 42 });
  const deviceA = await seedDevice(sql, 'dev-a', farmA);
  const deviceB = await seedDevice(sql, 'dev-b', farmB);
  const user = async (
    email: string,
    roles: ('farmer' | 'technician' | 'admin')[],
    farms: { id: string; owner?: boolean }[] = [],
  ) => ({
    id: (await seedUser(sql, email, roles, { farms })).id,
    email,
  });
  const users = {
    farmer: await user('farmer@example.com', ['farmer'], [{ id: farmA, owner: true }]),
    technician: await user('technician@example.com', ['technician'], [{ id: farmA }]),
    admin: await user('admin@example.com', ['admin']),
    stranger: await user('stranger@example.com', ['farmer'], [{ id: farmB, owner: true }]),
    spareTech: await user('spare-tech@example.com', ['technician']),
  };
  const [animal] = await sql<{ id: string }[]>`
    INSERT INTO animals (farm_id, tag_id, eid, breed, sex, birth_date)
    VALUES (${farmA}, 'A-101', '982000000000101', 'Angus', 'heifer', '2024-03-01') RETURNING id`;
  const [group] = await sql<{ id: string }[]>`
    INSERT INTO contemporary_groups (farm_id, name, birth_date_from, birth_date_to)
    VALUES (${farmA}, 'Spring heifers', '2024-01-01', '2024-06-30') RETURNING id`;
  await sql`INSERT INTO contemporary_group_animals (group_id, animal_id) VALUES (${group!.id}, ${animal!.id})`;
  const keys = {
    image: 'raw/dev-a/2025/09/09/cap_graded/image.png',
    overlay: 'processed/cap_graded/overlay.png',
    mask: 'processed/cap_graded/mask.png',
  };
  const imageAsset = await seedAsset(sql, keys.image, images.image ?? keys.image);
  const scanGraded = await seedScan(sql, {
    farmId: farmA,
    deviceId: deviceA,
    animalId: animal!.id,
    capturedAt: '2025-09-09T14:18:32Z',
    captureId: 'cap_graded',
  });
  await sql`UPDATE scans SET image_asset_id = ${imageAsset} WHERE id = ${scanGraded}`;
  await seedResult(sql, scanGraded, {
    features: {
      rea_cm2: 81.4,
      fat_thickness_mm: 6.2,
      roi_area_px: 46210,
      pixel_spacing_mm: 0.18,
      pixel_spacing_source: 'device_calibration',
      pixel_aspect: 0.889,
      pixel_aspect_source: 'meta',
      image_width_px: 640,
      image_height_px: 480,
    },
    assets: {
      overlay: await seedAsset(sql, keys.overlay, images.overlay ?? keys.overlay),
      mask: await seedAsset(sql, keys.mask, images.mask ?? keys.mask),
    },
    createdAt: '2025-09-09T14:19:00Z',
  });
  const scanNoSpacing = await seedScan(sql, {
    farmId: farmA,
    deviceId: deviceA,
    animalId: animal!.id,
    capturedAt: '2025-09-10T15:00:00Z',
    captureId: 'cap_nospacing',
  });
  await seedResult(sql, scanNoSpacing, {
    features: { rea_cm2: null, fat_thickness_mm: null, roi_area_px: 40100, pixel_spacing_source: 'none' },
    grade: 'M',
    reasons: ['no_spacing'],
    confidence: 0.61,
  });
  const scanWaiting = await seedScan(sql, {
    farmId: farmA,
    deviceId: deviceA,
    capturedAt: '2025-09-11T09:00:00Z',
    captureId: 'cap_waiting',
  });
  const scanB = await seedScan(sql, {
    farmId: farmB,
    deviceId: deviceB,
    capturedAt: '2025-09-11T10:00:00Z',
    captureId: 'cap_other_farm',
    gps: { lon: -80, lat: 42 },
  });
  await seedResult(sql, scanB, { features: { rea_cm2: 70.1, fat_thickness_mm: 4.4 } });
  return {
    farmA,
    farmB,
    deviceA,
    deviceB,
    animal: animal!.id,
    group: group!.id,
    scanGraded,
    scanNoSpacing,
    scanWaiting,
    scanB,
    users,
    keys,
  } satisfies DashboardWorld;
}

/**
 * The pages' test app on the dashboard world (useTestApp + seedDashboard), presigning locally: image
 * URLs point at a store that is not there, enough to check where they point. `more` seeds extra rows
 * once the world exists. `w` is filled before the first test runs.
 *
 * @example const { ctx, w } = useDashboardApp(); test('…', async () => { await pageClient(ctx.server.app, w.users.farmer.email) });
 */
export function useDashboardApp(more?: (sql: Sql, w: DashboardWorld) => Promise<void>): {
  ctx: TestAppContext;
  w: DashboardWorld;
} {
  const w = {} as DashboardWorld;
  const ctx = useTestApp(
    {
      api: {
        ...testConfig().api,
        s3: { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true },
      },
    },
    {
      async seed({ db }) {
        process.env.AWS_ACCESS_KEY_ID ??= 'pages';
        process.env.AWS_SECRET_ACCESS_KEY ??= 'pages';
        Object.assign(w, await seedDashboard(db.sql));
        await more?.(db.sql, w);
      },
    },
  );
  return { ctx, w };
}
