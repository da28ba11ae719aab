import { MOVE_BACKDATE_MAX_DAYS } from '../../access/device-move.ts';
import type { DevicePatch } from '../../api/devices.ts';
import { Button } from '../components/button.tsx';
import { CheckboxField, ErrorSummary, SelectField, TextField } from '../components/form-field.tsx';
import { utcOfLocal } from '../time/format-local.ts';
import { emptyField, type FieldErrors, type FormValues, textOf } from './page-kit.tsx';

// The device page's "Label and farm" form (POST /fleet/{id}; admins, and technicians of the device's
// farm or of an unassigned device, with their farms to choose from): the body of PATCH
// /api/v1/devices/{id}, checked with its schema and written by the same updateDevice.

export const DEVICE_SETTINGS_LABELS = {
  label: 'Label',
  farm_id: 'Farm',
  moved_at: 'Moved on',
  refile_scans: 'Also move its scans',
};

export type DeviceSettingsValues = {
  label: string;
  farm_id: string;
  moved_at: string;
  refile_scans: string;
  /** Fields the form did not carry at all: kept as stored, never read as "clear" (review r18 F9). */
  missing?: readonly ('label' | 'farm_id')[];
};
export type DeviceSettingsForm = { values: DeviceSettingsValues; errors: FieldErrors };

export const deviceSettingsValues = (form: FormValues): DeviceSettingsValues => ({
  label: textOf(form, 'label'),
  farm_id: textOf(form, 'farm_id').trim(),
  moved_at: textOf(form, 'moved_at').trim(),
  refile_scans: textOf(form, 'refile_scans') === 'on' ? 'on' : '',
  missing: (['label', 'farm_id'] as const).filter((name) => !(name in form)),
});

/**
 * The form as the API's PATCH body: an empty label clears it, no farm unassigns the device (a field
 * absent from the form is left out: kept); "Moved on"
 * is read in `zone` (the new farm's local time) and, like "Also move its scans", sent only when given.
 */
export function deviceSettingsBody(values: DeviceSettingsValues, zone: string): DevicePatch {
  const body: DevicePatch = {};
  if (!values.missing?.includes('label')) body.label = values.label.trim() || null;
  if (!values.missing?.includes('farm_id')) body.farm_id = values.farm_id || null;
  if (values.moved_at) {
    const utc = utcOfLocal(values.moved_at, zone);
    if (utc === undefined) throw emptyField('moved_at', 'must be a date and time such as 2026-12-05 08:30');
    body.moved_at = utc;
  }
  if (values.refile_scans === 'on') body.refile_scans = true;
  return body;
}

export function DeviceSettingsSection({
  deviceId,
  current,
  farms,
  csrf,
  form,
}: {
  deviceId: string;
  current: { label: string | null; farm: { id: string } | null };
  farms: readonly { id: string; name: string }[];
  csrf: string;
  form?: DeviceSettingsForm;
}) {
  const stored = { label: current.label ?? '', farm_id: current.farm?.id ?? '' };
  const values = form
    ? { ...form.values, ...Object.fromEntries((form.values.missing ?? []).map((n) => [n, stored[n]])) }
    : { ...stored, moved_at: '', refile_scans: '' };
  const errors = form?.errors ?? {};
  return (
    <section id="device-settings" aria-labelledby="device-settings-title">
      <h2 id="device-settings-title">Label and farm</h2>
      <form method="post" action={`/fleet/${deviceId}`} novalidate>
        <input type="hidden" name="_csrf" value={csrf} />
        <ErrorSummary errors={errors} fieldIds={{ _form: 'field-label' }} />
        <div class="filters">
          <TextField
            name="label"
            label="Label"
            maxlength={100}
            value={values.label}
            error={errors.label}
            hint="Up to 100 characters on one line, e.g. North barn Pi; empty for none."
          />
          <SelectField
            name="farm_id"
            label="Farm"
            placeholder="Unassigned"
            options={farms.map((f) => ({ value: f.id, label: f.name }))}
            value={values.farm_id}
            error={errors.farm_id}
            hint="New scans from this device go to this farm unless the capture names one (then its GPS position in a geofence); the farm's technicians and farmers see the device."
          />
          <TextField
            name="moved_at"
            label="Moved on"
            type="datetime-local"
            value={values.moved_at}
            error={errors.moved_at}
            hint={`Only when you record a move late: when the Pi was taken to its new farm, in that farm's local time (at most ${MOVE_BACKDATE_MAX_DAYS} days ago, after its previous move). Its captures from then on are the new farm's. Empty: now.`}
          />
        </div>
        <CheckboxField
          name="refile_scans"
          label="Also move its scans filed on the old farm since then"
          checked={values.refile_scans === 'on'}
          error={errors.refile_scans}
          hint="With “Moved on”: the scans it uploaded before the move was recorded, captured since that time and filed on the old farm by the device's farm, go to the new farm (as if moved one by one on their pages). Not those moved by hand, nor those whose time the Pi's unsynced clock leaves in doubt. Unticked, they stay where they are."
        />
        <Button>Save label and farm</Button>
      </form>
    </section>
  );
}
