import type { DeviceRow } from '../../access/device-queries.ts';
import { RETIRED_REASON_MAX } from '../../devices/device-retirement.ts';
import { ActionForm, Button } from '../components/button.tsx';
import { ErrorSummary, TextField } from '../components/form-field.tsx';
import type { FieldErrors } from './page-kit.tsx';

export type RetireForm = { values: { reason?: string }; errors: FieldErrors };

export const RETIRE_LABELS = { reason: 'Reason' };

/**
 * The device page's admin section (review r11 F7): retire the device (POST /fleet/{id}/retire, the
 * rules of POST /api/v1/devices/{id}/retire and `cti-server device retire`), or bring a retired one
 * back (POST /fleet/{id}/unretire).
 */
export function RetireSection({
  device,
  csrfToken,
  form = { values: {}, errors: {} },
}: {
  device: DeviceRow;
  csrfToken: string;
  form?: RetireForm;
}) {
  if (device.retired)
    return (
      <section aria-labelledby="retire-title" id="device-retire">
        <h2 id="retire-title">Back into service</h2>
        {/* A retire sent again (double submit, another admin): "already retired at … by …" (r18 F1). */}
        <ErrorSummary errors={form.errors} />
        <p class="muted">
          Clears the retirement: the device is watched again, without a key — issue one with{' '}
          <code>cti-server device add {device.device_code}</code> and install it on the Pi. It shows "no
          heartbeat yet" until its first heartbeat.
        </p>
        <ActionForm action={`/fleet/${device.id}/unretire`} csrfToken={csrfToken}>
          Bring back into service
        </ActionForm>
      </section>
    );
  return (
    <section aria-labelledby="retire-title" id="device-retire">
      <h2 id="retire-title">Retire this device</h2>
      <p class="muted">
        For a Pi taken out of service or replaced: its keys are revoked, its heartbeats refused, and it is no
        longer watched (never silent, no notifications, no alerts); the fleet lists it under "Retired". Its
        page, history and scans stay.
      </p>
      <form method="post" action={`/fleet/${device.id}/retire`} novalidate>
        <input type="hidden" name="_csrf" value={csrfToken} />
        <ErrorSummary errors={form.errors} />
        <TextField
          name="reason"
          label="Reason"
          maxlength={RETIRED_REASON_MAX}
          value={form.values.reason}
          error={form.errors.reason}
          hint="Optional, e.g. replaced by pi-barn-2."
        />
        <Button variant="danger">Retire device</Button>
      </form>
    </section>
  );
}
