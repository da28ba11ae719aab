import type { DevicePatch } from '../../api/devices.ts';
import { Button } from '../components/button.tsx';
import { ErrorSummary, SelectField, TextField } from '../components/form-field.tsx';
import { type FieldErrors, type FormValues, textOf } from './page-kit.tsx';

// The device page's "Label and farm" form (POST /fleet/{id}; admins, and technicians of the device's
// farm or of an unassigned device, with their farms to choose from): the body of PATCH
// /api/v1/devices/{id}, checked with its schema and written by the same updateDevice.

export const DEVICE_SETTINGS_LABELS = { label: 'Label', farm_id: 'Farm' };

export type DeviceSettingsValues = { label: string; farm_id: string };
export type DeviceSettingsForm = { values: DeviceSettingsValues; errors: FieldErrors };

export const deviceSettingsValues = (form: FormValues): DeviceSettingsValues => ({
  label: textOf(form, 'label'),
  farm_id: textOf(form, 'farm_id').trim(),
});

/** The form as the API's PATCH body: an empty label clears it, no farm unassigns the device. */
export function deviceSettingsBody(values: DeviceSettingsValues): DevicePatch {
  return { label: values.label.trim() || null, farm_id: values.farm_id || null };
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
  const values = form?.values ?? { label: current.label ?? '', farm_id: current.farm?.id ?? '' };
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
        </div>
        <Button>Save label and farm</Button>
      </form>
    </section>
  );
}
