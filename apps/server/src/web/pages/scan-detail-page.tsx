import { findFarm } from '../../access/farm-queries.ts';
import { type AssetRow, findScanDetail } from '../../access/scan-detail-query.ts';
import { type ScanChanges, updateScan } from '../../access/scan-update.ts';
import { toScanDetail } from '../../api/scan-views.ts';
import { scanPatchSchema } from '../../api/scans.ts';
import { isAdmin, isTechnician } from '../../auth/principal.ts';
import { forbidden } from '../../auth/session-middleware.ts';
import { Button } from '../components/button.tsx';
import { type Column, DataTable } from '../components/data-table.tsx';
import { eventSummary } from '../components/event-summary.ts';
import { ErrorSummary, SelectField, TextField } from '../components/form-field.tsx';
import { GradeBadge } from '../components/grade-badge.tsx';
import { LocalTime } from '../components/local-time.tsx';
import { type FatLine, MaskEditor } from '../components/mask-editor.tsx';
import { Measurement } from '../components/measurement.tsx';
import { ScanImage } from '../components/scan-image.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import type { Grade, ScanStatus } from '../view-types.ts';
import {
  attempt,
  Facts,
  type FieldErrors,
  farmZone,
  idParam,
  type PageContext,
  type PageDeps,
  type PageRouter,
  pageNotFound,
  presentTexts,
  readForm,
  redirectDone,
  sendPage,
  textOf,
  userOf,
  validated,
} from './page-kit.tsx';
import {
  ASSIGNMENT_LABELS,
  type AssignmentForm,
  AssignmentSection,
  assignmentChanges,
  assignmentChoices,
} from './scan-assignment.tsx';
import { missingReason } from './scan-rows.ts';

type Detail = Awaited<ReturnType<typeof toScanDetail>>;
type Result = Detail['grading_results'][number];
type ReviewForm = { values: Record<string, string>; errors: FieldErrors };
/** A form shown again with its errors (422), at most one of them. */
type Forms = { review?: ReviewForm; assignment?: AssignmentForm };

const REVIEW_LABELS = { review_label: 'Label', review_clarity: 'Clarity', review_usability: 'Usability' };
const USABILITY = ['usable', 'marginal', 'unusable'];

const asGrade = (g: string | null | undefined): Grade | null =>
  g === 'A' || g === 'M' || g === 'R' ? g : null;
const percent = (x: number | null | undefined) => (typeof x === 'number' ? `${Math.round(x * 100)} %` : '—');
const words = (key: string) =>
  key
    .replace(/_/g, ' ')
    .replace(/\biou\b/i, 'IoU')
    .replace(/\bsnr\b/i, 'SNR')
    .replace(/\bglcm\b/i, 'GLCM');

const personOf = (u: { full_name: string | null; email: string }) => u.full_name ?? u.email;

/** A number from features_used (integers for pixel sizes), else undefined. */
const feature = (f: Record<string, unknown> | null, ...keys: string[]) => {
  for (const k of keys) {
    const v = f?.[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  }
  return undefined;
};

function fatLineOf(f: Record<string, unknown> | null): FatLine | null {
  const l = f?.fat_line as Record<string, unknown> | undefined;
  if (!l || typeof l !== 'object') return null;
  const [x1, y1, x2, y2] = [l.x1, l.y1, l.x2, l.y2];
  return [x1, y1, x2, y2].every((v) => typeof v === 'number' && Number.isFinite(v))
    ? { x1: x1 as number, y1: y1 as number, x2: x2 as number, y2: y2 as number }
    : null;
}

/**
 * GET /scans/:id — the image with its overlay toggle, measurements with grade, reasons and confidence,
 * the history of grading results with lineage, the event timeline and the review fields (editable by
 * admins and the farm's technicians); for them also the mask editor, which POSTs to
 * /api/v1/scans/{id}/corrections. Another farm's scan is the same 404 as a missing one (the query).
 * POST /scans/:id/review — label, clarity, usability through the API's updateScan.
 * POST /scans/:id/assignment — the animal link and (for those who may write several farms) the farm,
 * through the same updateScan: rights on both farms, the animal on the scan's (new) farm.
 */
export function scanDetailPages(app: PageRouter, deps: PageDeps) {
  const { sql, signer } = deps;

  async function render(c: PageContext, id: string, forms: Forms = {}) {
    const { review, assignment } = forms;
    const principal = userOf(c);
    const row = await findScanDetail(sql, principal, id);
    if (row === undefined) throw pageNotFound();
    const [detail, farm, choices] = await Promise.all([
      toScanDetail(row, signer),
      row.farm ? findFarm(sql, principal, row.farm.id) : undefined,
      row.can_write ? assignmentChoices(sql, principal, row, assignment?.values.farm_id) : undefined,
    ]);
    const zone = farmZone(farm?.centroid);
    const latest = detail.grading_results[0];
    const overlay = latest?.assets.find((a) => a.role === 'overlay');
    const editor = detail.can_edit && (isAdmin(principal) || isTechnician(principal));
    const size = editor ? await imageSize(row.image, latest) : undefined;
    return sendPage(
      c,
      deps,
      {
        title: `Scan ${detail.capture_id}`,
        scripts: ['js/overlay-toggle.js', ...(editor && size ? ['js/mask-editor.js'] : [])],
        children: (
          <>
            <div class="scan-layout">
              <ScanImage
                id="scan"
                imageUrl={detail.image?.url ?? null}
                overlayUrl={overlay?.url ?? null}
                alt={`Ultrasound scan ${detail.capture_id}`}
                width={size?.width}
                height={size?.height}
              />
              <LatestResult detail={detail} latest={latest} />
            </div>
            <h2>About this scan</h2>
            <Facts
              items={[
                [
                  'Captured',
                  <LocalTime utc={detail.captured_at} timeZone={zone} style="datetime-seconds" zoneName />,
                ],
                ['Status', <StatusBadge status={detail.status as ScanStatus} />],
                [
                  'Farm',
                  detail.farm ? <a href={`/farms/${detail.farm.id}`}>{detail.farm.name}</a> : 'unassigned',
                ],
                [
                  'Animal',
                  detail.animal ? (
                    <a href={`/animals/${detail.animal.id}`}>{detail.animal.tag_id}</a>
                  ) : detail.animal_eid ? (
                    `ear tag ${detail.animal_eid} (no animal registered yet)`
                  ) : (
                    '—'
                  ),
                ],
                [
                  'Device',
                  detail.device.label
                    ? `${detail.device.device_code} (${detail.device.label})`
                    : detail.device.device_code,
                ],
                ['Operator', detail.operator?.full_name ?? detail.operator_code ?? '—'],
                [
                  'Position',
                  detail.gps ? `${detail.gps.lat.toFixed(5)}, ${detail.gps.lon.toFixed(5)}` : 'no GPS fix',
                ],
                ['Arrived', <LocalTime utc={detail.created_at} timeZone={zone} style="datetime-seconds" />],
                ['Reference', <code>{detail.scan_ref ?? detail.id}</code>],
              ]}
            />
            {choices && (
              <AssignmentSection
                scanId={detail.id}
                current={detail}
                choices={choices}
                csrf={principal.csrfToken}
                form={assignment}
              />
            )}
            <Review detail={detail} zone={zone} csrf={principal.csrfToken} review={review} />
            <History results={detail.grading_results} zone={zone} />
            <Timeline events={detail.events} zone={zone} />
            {editor &&
              (size && detail.image?.url ? (
                <MaskEditor
                  id="mask-editor"
                  imageUrl={detail.image.url}
                  maskUrl={latest?.assets.find((a) => a.role === 'mask')?.url ?? detail.mask?.url ?? null}
                  width={size.width}
                  height={size.height}
                  fatLine={fatLineOf(latest?.features_used ?? null)}
                  submitUrl={`/api/v1/scans/${detail.id}/corrections`}
                  basedOn={latest?.id ?? null}
                />
              ) : (
                <section class="mask-editor">
                  <h2>Correct the outline</h2>
                  <p class="muted">The image is not available, so its outline cannot be corrected here.</p>
                </section>
              ))}
          </>
        ),
      },
      review || assignment ? 422 : 200,
    );
  }

  // The image's pixel size (the mask editor submits exactly that): from the result, else its header in S3.
  async function imageSize(image: AssetRow | null, latest: Result | undefined) {
    const w = feature(latest?.features_used ?? null, 'image_width_px', 'width_px');
    const h = feature(latest?.features_used ?? null, 'image_height_px', 'height_px');
    if (w && h) return { width: Math.round(w), height: Math.round(h) };
    if (!image || !deps.imageSizes) return undefined;
    return deps.imageSizes.sizeOf(image.bucket, image.object_key).catch(() => undefined);
  }

  app.get('/scans/:id', (c) => render(c, idParam(c)));

  app.post('/scans/:id/review', async (c) => {
    const id = idParam(c);
    const principal = userOf(c);
    const form = await readForm(c);
    // Only the fields the form carries: an absent one keeps the scan's (r18 F9), an empty one clears it.
    const values = presentTexts(form, ['review_label', 'review_clarity', 'review_usability'] as const);
    const changes = {
      ...(values.review_label !== undefined ? { review_label: values.review_label.trim() || null } : {}),
      ...(values.review_clarity !== undefined
        ? { review_clarity: values.review_clarity === '' ? null : Number(values.review_clarity) }
        : {}),
      ...(values.review_usability !== undefined ? { review_usability: values.review_usability || null } : {}),
    };
    const done = await attempt(async () => {
      return updateScan(sql, principal, id, validated(scanPatchSchema, changes) as ScanChanges);
    }, REVIEW_LABELS);
    if (!done.ok) return render(c, id, { review: { values, errors: done.errors } });
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/scans/${id}#review`, 'review-saved');
  });

  app.post('/scans/:id/assignment', async (c) => {
    const id = idParam(c);
    const principal = userOf(c);
    const form = await readForm(c);
    const values = { farm_id: textOf(form, 'farm_id').trim(), animal: textOf(form, 'animal').trim() };
    const plan = await assignmentChanges(sql, principal, form);
    if (!plan.ok || Object.keys(plan.changes).length === 0) {
      // Nothing chosen anew, or an animal not found: the refusals a change would get (404, 403) first,
      // and nothing written.
      const row = await findScanDetail(sql, principal, id);
      if (row === undefined) throw pageNotFound();
      if (!row.can_write) throw forbidden('you may not change scans of this farm');
      if (!plan.ok) return render(c, id, { assignment: { values, errors: plan.errors } });
      return redirectDone(c, `/scans/${id}#assignment`, 'scan-unchanged');
    }
    const done = await attempt(
      async () => updateScan(sql, principal, id, validated(scanPatchSchema, plan.changes) as ScanChanges),
      ASSIGNMENT_LABELS,
    );
    if (!done.ok) {
      // updateScan names the API's `animal_id`: the form's field is `animal`.
      const { animal_id, ...errors } = done.errors;
      const named = animal_id === undefined ? errors : { ...errors, animal: animal_id };
      return render(c, id, { assignment: { values, errors: named } });
    }
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/scans/${id}#assignment`, 'scan-assigned');
  });
}

function LatestResult({ detail, latest }: { detail: Detail; latest: Result | undefined }) {
  const reasonFor = (key: string) =>
    latest
      ? missingReason(detail.status, latest.grade_reasons, latest.features_used, key)
      : detail.status === 'error'
        ? 'grading failed'
        : 'not graded yet';
  const breakdown = Object.entries(latest?.confidence_breakdown ?? {}).filter(
    ([, v]) => typeof v === 'number',
  );
  return (
    <section aria-labelledby="result-title">
      <h2 id="result-title">Result</h2>
      <dl class="measurements">
        <div>
          <dt>Ribeye area</dt>
          <dd>
            <Measurement
              value={latest?.measurements.rea_cm2}
              unit="cm²"
              missingReason={reasonFor('rea_cm2')}
            />
          </dd>
        </div>
        <div>
          <dt>Fat thickness</dt>
          <dd>
            <Measurement
              value={latest?.measurements.fat_thickness_mm}
              unit="mm"
              missingReason={reasonFor('fat_thickness_mm')}
            />
          </dd>
        </div>
        <div>
          <dt>Image grade</dt>
          <dd>
            <GradeBadge grade={asGrade(latest?.grade)} reasons={latest?.grade_reasons ?? []} showReasons />
          </dd>
        </div>
        <div>
          <dt>Confidence</dt>
          <dd>{percent(latest?.confidence)}</dd>
        </div>
      </dl>
      {breakdown.length > 0 && (
        <>
          <h3>Confidence breakdown</h3>
          <dl class="facts">
            {breakdown.map(([k, v]) => (
              <div>
                <dt>{words(k)}</dt>
                <dd>{(v as number).toFixed(2)}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
      {latest && (
        <p class="muted">
          {latest.manual
            ? `Corrected by hand${latest.created_by ? ` by ${personOf(latest.created_by)}` : ''} (on ${latest.model_version})`
            : `Graded by ${latest.model_name}@${latest.model_version}`}
        </p>
      )}
      {latest && <p class="muted">Scale: {scaleText(latest.features_used)}</p>}
    </section>
  );
}

const SCALE_SOURCES: Record<string, string> = {
  meta: 'meta.json',
  device_calibration: 'the device calibration',
  ruler: 'the on-screen ruler',
};

/**
 * How a result's pixels became millimetres (features_used, as the overlay caption says it): the pixel
 * spacing and where it came from, and the pixel aspect, which enters every area and horizontal length.
 * A result graded before aspects were recorded was measured with square pixels.
 */
export function scaleText(features: Record<string, unknown> | null): string {
  const from = (source: unknown) =>
    typeof source === 'string' && SCALE_SOURCES[source] ? `, from ${SCALE_SOURCES[source]}` : '';
  const mm = features?.pixel_spacing_mm;
  const spacing =
    typeof mm === 'number' && Number.isFinite(mm) && mm > 0
      ? `${mm.toFixed(3)} mm per pixel${from(features?.pixel_spacing_source)}`
      : 'no pixel spacing (measured in pixels only)';
  const aspect = features?.pixel_aspect;
  const source = features?.pixel_aspect_source;
  if (typeof aspect !== 'number' || source === 'assumed_square' || source === undefined)
    return `${spacing}; square pixels assumed`;
  return aspect === 1
    ? `${spacing}; square pixels${from(source)}`
    : `${spacing}; pixels ${aspect.toFixed(3)} as wide as tall${from(source)}`;
}

function Review({
  detail,
  zone,
  csrf,
  review,
}: {
  detail: Detail;
  zone: string;
  csrf: string;
  review?: ReviewForm;
}) {
  const r = detail.review;
  const v: Record<string, string> = {
    review_label: r.label ?? '',
    review_clarity: r.clarity === null ? '' : String(r.clarity),
    review_usability: r.usability ?? '',
    ...review?.values,
  };
  const errors = review?.errors ?? {};
  return (
    <section id="review" aria-labelledby="review-title">
      <h2 id="review-title">Review</h2>
      {r.reviewed_at && (
        <p class="muted">
          Last reviewed <LocalTime utc={r.reviewed_at} timeZone={zone} />
          {r.reviewed_by ? ` by ${r.reviewed_by.full_name ?? 'a user'}` : ''}.
        </p>
      )}
      {detail.can_edit ? (
        <form method="post" action={`/scans/${detail.id}/review`} novalidate>
          <input type="hidden" name="_csrf" value={csrf} />
          <ErrorSummary errors={errors} fieldIds={{ _form: 'field-review_label' }} />
          <div class="filters">
            <TextField
              name="review_label"
              label="Label"
              value={v.review_label}
              error={errors.review_label}
              maxlength={64}
              hint="A short word for triage, e.g. retake, ok, check probe"
            />
            <SelectField
              name="review_clarity"
              label="Clarity"
              placeholder="Not rated"
              value={v.review_clarity}
              error={errors.review_clarity}
              options={['1', '2', '3', '4', '5'].map((n) => ({ value: n, label: `${n} of 5` }))}
            />
            <SelectField
              name="review_usability"
              label="Usability"
              placeholder="Not rated"
              value={v.review_usability}
              error={errors.review_usability}
              options={USABILITY.map((u) => ({ value: u, label: u }))}
            />
          </div>
          <Button>Save review</Button>
        </form>
      ) : (
        <Facts
          items={[
            ['Label', r.label ?? '—'],
            ['Clarity', r.clarity === null ? '—' : `${r.clarity} of 5`],
            ['Usability', r.usability ?? '—'],
          ]}
        />
      )}
    </section>
  );
}

function History({ results, zone }: { results: readonly Result[]; zone: string }) {
  const columns: Column<Result>[] = [
    {
      header: 'When',
      primary: true,
      cell: (g) => <LocalTime utc={g.created_at} timeZone={zone} style="datetime-seconds" />,
    },
    {
      header: 'Model',
      cell: (g) =>
        g.manual ? (
          <>
            by hand, on <code>{g.model_version}</code>
          </>
        ) : (
          <code>
            {g.model_name}@{g.model_version}
          </code>
        ),
    },
    {
      header: 'sha256',
      wideOnly: true,
      cell: (g) =>
        g.inference_sha256 ? <code title={g.inference_sha256}>{g.inference_sha256.slice(0, 12)}…</code> : '—',
    },
    {
      header: 'By',
      cell: (g) => (g.created_by ? personOf(g.created_by) : 'system (automatic)'),
    },
    { header: 'Grade', cell: (g) => <GradeBadge grade={asGrade(g.grade)} reasons={g.grade_reasons} /> },
    {
      header: 'Ribeye area',
      numeric: true,
      cell: (g) => <Measurement value={g.measurements.rea_cm2} unit="cm²" />,
    },
    {
      header: 'Fat',
      numeric: true,
      cell: (g) => <Measurement value={g.measurements.fat_thickness_mm} unit="mm" />,
    },
    { header: 'Confidence', numeric: true, cell: (g) => percent(g.confidence) },
  ];
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Grading history</h2>
      {results.length === 0 ? (
        <p class="muted">Not graded yet.</p>
      ) : (
        <DataTable
          id="history"
          caption="Every grading result, newest first"
          columns={columns}
          rows={results}
        />
      )}
    </section>
  );
}

function Timeline({ events, zone }: { events: Detail['events']; zone: string }) {
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <ol class="timeline">
        {events.map((e) => (
          <li>
            <LocalTime utc={e.created_at} timeZone={zone} style="datetime-seconds" />{' '}
            <strong>{e.event.replace(/_/g, ' ')}</strong>
            {eventSummary(e.event, e.meta) !== null && <> {eventSummary(e.event, e.meta)}</>}
            {e.meta !== null && e.meta !== undefined && (
              <details class="event-record">
                <summary>Record</summary>
                <code class="event-meta">{JSON.stringify(e.meta).slice(0, 400)}</code>
              </details>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
