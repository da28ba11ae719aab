import { Histogram } from '../../web/charts/histogram.tsx';
import { Scatter } from '../../web/charts/scatter.tsx';
import { GRADE_KEYS, StackedBar } from '../../web/charts/stacked-bar.tsx';
import { formatNumber } from '../../web/charts/summary.ts';
import { type Column, DataTable } from '../../web/components/data-table.tsx';
import { GradeBadge } from '../../web/components/grade-badge.tsx';
import { LocalTime } from '../../web/components/local-time.tsx';
import { Measurement } from '../../web/components/measurement.tsx';
import { type ContemporaryGroup, type GroupMember, ratio } from '../contemporary-groups.ts';
import type { Report } from '../report.ts';
import { isUsable } from '../report-figures.ts';
import type { ReportScan } from '../report-rows.ts';

// The parts of a report page, shared by the reports page and the printable report: plain components
// over the Report (the same object the JSON API returns) and its scans.

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The two measurements every report shows, in this order. */
const MEASURES = [
  { id: 'rea', key: 'rea_cm2', quantity: 'Ribeye area', unit: 'cm²', value: (s: ReportScan) => s.rea_cm2 },
  {
    id: 'fat',
    key: 'fat_thickness_mm',
    quantity: 'Fat thickness',
    unit: 'mm',
    value: (s: ReportScan) => s.fat_thickness_mm,
  },
] as const;

/** The counts in words and figures. */
export function ReportSummary({ report }: { report: Report }) {
  const { counts } = report;
  const g = counts.grades;
  const rows: [string, string | number][] = [
    ['Scans', counts.scans],
    ['Usable (A + M): in the measurements', counts.usable],
    ['A usable', g.A],
    ['M marginal', g.M],
    ['R reject: left out of the measurements', g.R],
    ['Graded without a quality grade', g.no_grade],
    ['Not graded yet', g.not_graded],
    ['Animals scanned', counts.animals],
    ['Scans not linked to an animal', counts.not_linked_to_animal],
  ];
  return (
    <section class="report-summary" aria-labelledby="summary-title">
      <h2 id="summary-title">Summary</h2>
      <dl class="measurements">
        {rows.map(([label, value]) => (
          <div>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
        {MEASURES.map((m) => (
          <div>
            <dt>{m.quantity}, mean</dt>
            <dd>
              <Measurement value={report[m.key].mean} unit={m.unit} missingReason="no usable value" />
              <span class="muted"> ({plural(report[m.key].measured, 'scan')})</span>
            </dd>
          </div>
        ))}
      </dl>
      {(report.rea_cm2.not_measured > 0 || report.fat_thickness_mm.not_measured > 0) && (
        <p class="muted">
          Not measured on usable scans: ribeye area {report.rea_cm2.not_measured}, fat thickness{' '}
          {report.fat_thickness_mm.not_measured}. They are counted here, never averaged as 0.
        </p>
      )}
    </section>
  );
}

/** Histograms of REA and fat thickness, and REA against fat thickness, over the usable scans. */
export function ReportCharts({
  scans,
  idPrefix = 'report',
}: {
  scans: readonly ReportScan[];
  idPrefix?: string;
}) {
  const usable = scans.filter(isUsable);
  return (
    <section aria-labelledby={`${idPrefix}-charts-title`}>
      <h2 id={`${idPrefix}-charts-title`}>Measurements of usable (A and M) scans</h2>
      <div class="charts">
        {MEASURES.map((m) => (
          <Histogram
            id={`${idPrefix}-${m.id}`}
            title={m.quantity}
            quantity={m.quantity}
            unit={m.unit}
            values={usable.map(m.value)}
          />
        ))}
        <Scatter
          id={`${idPrefix}-scatter`}
          title="Ribeye area against fat thickness"
          x={{ quantity: 'Fat thickness', unit: 'mm' }}
          y={{ quantity: 'Ribeye area', unit: 'cm²' }}
          points={usable.map((s) => ({
            x: s.fat_thickness_mm,
            y: s.rea_cm2,
            label: s.animal_tag_id ? `Tag ${s.animal_tag_id}` : s.capture_id,
            href: `/scans/${s.id}`,
          }))}
        />
      </div>
    </section>
  );
}

/**
 * What a grade-mix bar counts: scans with a quality grade (A, M or R) — not the day's or device's scans,
 * which also hold those without one (the table beside it and the summary count them apart).
 */
const MIX_NOUN = 'quality-graded scan';

/** Image-quality grade mix per day and per device, and the devices' activity. */
export function ReportActivity({ report, idPrefix = 'report' }: { report: Report; idPrefix?: string }) {
  const tz = report.scope.time_zone;
  const mix = (g: Report['counts']['grades']) => ({ A: g.A, M: g.M, R: g.R });
  type Device = Report['devices'][number];
  const columns: Column<Device>[] = [
    {
      header: 'Device',
      primary: true,
      cell: (d) => (d.label ? `${d.device_code} (${d.label})` : d.device_code),
    },
    { header: 'Scans', numeric: true, cell: (d) => d.scans },
    { header: 'A', numeric: true, cell: (d) => d.grades.A },
    { header: 'M', numeric: true, cell: (d) => d.grades.M },
    { header: 'R', numeric: true, cell: (d) => d.grades.R },
    // The summary's two categories, so that the row adds up to its Scans (A + M + R + these two).
    { header: 'No quality grade', numeric: true, wideOnly: true, cell: (d) => d.grades.no_grade },
    { header: 'Not graded yet', numeric: true, cell: (d) => d.grades.not_graded },
    { header: 'Days active', numeric: true, cell: (d) => d.days_active },
    { header: 'First scan', wideOnly: true, cell: (d) => <LocalTime utc={d.first_at} timeZone={tz} /> },
    { header: 'Last scan', cell: (d) => <LocalTime utc={d.last_at} timeZone={tz} /> },
  ];
  return (
    <section aria-labelledby={`${idPrefix}-activity-title`}>
      <h2 id={`${idPrefix}-activity-title`}>Image quality and device activity</h2>
      <div class="charts">
        {report.by_day.length > 1 && (
          <StackedBar
            id={`${idPrefix}-mix-day`}
            title="Grade mix per day"
            keys={GRADE_KEYS}
            noun={MIX_NOUN}
            bars={report.by_day.map((d) => ({ label: d.day ?? 'unknown day', counts: mix(d.grades) }))}
          />
        )}
        <StackedBar
          id={`${idPrefix}-mix-device`}
          title="Grade mix per device"
          keys={GRADE_KEYS}
          noun={MIX_NOUN}
          bars={report.devices.map((d) => ({ label: d.device_code, counts: mix(d.grades) }))}
        />
      </div>
      <DataTable caption="Devices" columns={columns} rows={report.devices} id={`${idPrefix}-devices`} />
    </section>
  );
}

/** A whole-number ratio as the labs print it, from the value and the unrounded group mean (rounded once). */
const wholeRatio = (value: number | null, groupMean: number | null) => {
  const whole = ratio(value, groupMean, 0);
  return whole === null ? '—' : formatNumber(whole, 0);
};

/** One contemporary group: its means and a row per animal with its values and ratios. */
export function GroupTable({
  group,
  timeZone,
  id,
}: {
  group: ContemporaryGroup;
  timeZone: string;
  id: string;
}) {
  const missing = (m: GroupMember) => (m.scan ? 'not measured' : m.scans ? 'no usable scan' : 'not scanned');
  const columns: Column<GroupMember>[] = [
    { header: 'Animal', primary: true, cell: (m) => <MemberAnimal animal={m.animal} /> },
    { header: 'Sex', cell: (m) => m.animal.sex ?? '—' },
    {
      header: 'Scan used',
      cell: (m) =>
        m.scan ? (
          <a href={`/scans/${m.scan.id}`}>
            <LocalTime utc={m.scan.at} timeZone={timeZone} style="time" />
          </a>
        ) : (
          <span class="muted">none</span>
        ),
    },
    { header: 'Grade', cell: (m) => (m.scan ? <GradeBadge grade={m.scan.grade} /> : '—') },
    {
      header: 'Scans (usable)',
      numeric: true,
      wideOnly: true,
      cell: (m) => `${m.scans} (${m.usable_scans})`,
    },
    {
      header: 'REA cm²',
      numeric: true,
      cell: (m) => <Measurement value={m.rea_cm2} unit="cm²" missingReason={missing(m)} />,
    },
    { header: 'REA ratio', numeric: true, cell: (m) => wholeRatio(m.rea_cm2, group.rea_cm2.mean) },
    {
      header: 'Fat mm',
      numeric: true,
      cell: (m) => <Measurement value={m.fat_thickness_mm} unit="mm" missingReason={missing(m)} />,
    },
    {
      header: 'Fat ratio',
      numeric: true,
      cell: (m) => wholeRatio(m.fat_thickness_mm, group.fat_thickness_mm.mean),
    },
  ];
  const mean = (x: ContemporaryGroup['rea_cm2'], unit: string) =>
    x.mean === null ? 'no value' : `${x.mean.toFixed(1)} ${unit} over ${plural(x.measured, 'animal')}`;
  return (
    <section class="report-group" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{group.label}</h3>
      <p>
        {plural(group.animals, 'animal')}. Group mean: ribeye area {mean(group.rea_cm2, 'cm²')}; fat thickness{' '}
        {mean(group.fat_thickness_mm, 'mm')}.
      </p>
      <DataTable
        caption={`Animals of ${group.label}, with ratios to the group mean (100 = average)`}
        columns={columns}
        rows={group.members}
        id={id}
      />
    </section>
  );
}

const ELSEWHERE = 'an animal now on another farm';

/**
 * A group member's tag, linked to its page; an animal that moved to another farm since is said to be
 * there (its tag too when the reader may see that farm, else nothing that identifies it).
 */
function MemberAnimal({ animal }: { animal: GroupMember['animal'] }) {
  if (animal.id === null) return <span class="muted">{ELSEWHERE}</span>;
  const link = <a href={`/animals/${animal.id}`}>{animal.tag_id}</a>;
  if (!animal.on_other_farm) return link;
  return (
    <>
      {link} <span class="muted">(now on another farm)</span>
    </>
  );
}

/** Every contemporary group of the report, with how ratios are computed. */
export function ReportGroups({ report, idPrefix = 'report' }: { report: Report; idPrefix?: string }) {
  return (
    <section aria-labelledby={`${idPrefix}-groups-title`}>
      <h2 id={`${idPrefix}-groups-title`}>Ratios within contemporary groups</h2>
      <p class="muted">
        {report.scope.kind === 'group'
          ? 'The animals of this group. '
          : 'Animals scanned on the same day with the same sex, as breed associations group them. '}
        Ratio = the animal's value ÷ the group mean × 100. An animal's value comes from its latest usable (A
        or M) scan of the period; R-graded scans are not used.
      </p>
      {report.contemporary_groups.length === 0 ? (
        <p>No scans linked to animals in this period.</p>
      ) : (
        report.contemporary_groups.map((g, i) => (
          <GroupTable group={g} timeZone={report.scope.time_zone} id={`${idPrefix}-group-${i + 1}`} />
        ))
      )}
    </section>
  );
}

/** Every scan of the report (the printable day report lists them all). */
export function ScansOfReport({ scans, timeZone }: { scans: readonly ReportScan[]; timeZone: string }) {
  const columns: Column<ReportScan>[] = [
    {
      header: 'Time',
      primary: true,
      cell: (s) => (
        <a href={`/scans/${s.id}`}>
          <LocalTime utc={s.at} timeZone={timeZone} style="time" />
        </a>
      ),
    },
    { header: 'Capture', wideOnly: true, cell: (s) => s.capture_id },
    {
      header: 'Animal',
      cell: (s) =>
        s.animal_id ? (
          <a href={`/animals/${s.animal_id}`}>{s.animal_tag_id}</a>
        ) : s.animal_key ? (
          <span class="muted">{ELSEWHERE}</span>
        ) : (
          '—'
        ),
    },
    { header: 'Device', cell: (s) => s.device_code },
    {
      header: 'Grade',
      cell: (s) =>
        !s.graded ? (
          <span class="muted">waiting for grading</span>
        ) : s.grade ? (
          <GradeBadge grade={s.grade} />
        ) : (
          <span class="muted">no quality grade</span>
        ),
    },
    {
      header: 'REA cm²',
      numeric: true,
      cell: (s) => (
        <Measurement value={s.rea_cm2} unit="cm²" missingReason={s.graded ? 'not measured' : undefined} />
      ),
    },
    {
      header: 'Fat mm',
      numeric: true,
      cell: (s) => (
        <Measurement
          value={s.fat_thickness_mm}
          unit="mm"
          missingReason={s.graded ? 'not measured' : undefined}
        />
      ),
    },
  ];
  return <DataTable caption={`Scans (${scans.length})`} columns={columns} rows={scans} id="report-scans" />;
}
