import { Button } from '../../web/components/button.tsx';
import { ErrorSummary, TextAreaField, TextField } from '../../web/components/form-field.tsx';
import { type AssetUrls, renderPage } from '../../web/layout.tsx';

export type RegistrationForm = {
  email?: string;
  full_name?: string;
  requested_role?: string;
  message?: string;
};

/** Asking for an account (farmer or technician; an admin decides), or the "request received" page. */
export function registrationPage({
  assets,
  values = {},
  errors = {},
  done = false,
}: {
  assets: AssetUrls;
  values?: RegistrationForm;
  errors?: Record<string, string>;
  done?: boolean;
}): string {
  if (done) {
    return renderPage({
      title: 'Request received',
      assets,
      currentPath: '/register',
      flash: [
        {
          kind: 'success',
          text: 'Thank you. An administrator will review your request; you can sign in once it is approved.',
        },
      ],
      children: (
        <p>
          <a href="/sign-in">Back to sign-in</a>
        </p>
      ),
    });
  }
  const role = values.requested_role ?? 'farmer';
  const radio = (value: string, label: string) => (
    <div class="field-check">
      <input
        type="radio"
        id={`field-role-${value}`}
        name="requested_role"
        value={value}
        checked={role === value}
      />
      <label for={`field-role-${value}`}>{label}</label>
    </div>
  );
  return renderPage({
    title: 'Ask for an account',
    assets,
    currentPath: '/register',
    children: (
      <form method="post" action="/register" class="narrow-form" novalidate>
        <ErrorSummary
          errors={errors}
          fieldIds={{ requested_role: 'field-role-farmer', _form: 'field-full_name' }}
        />
        <TextField
          name="full_name"
          label="Your name"
          required
          value={values.full_name}
          error={errors.full_name}
          autocomplete="name"
        />
        <TextField
          name="email"
          label="Email"
          type="email"
          required
          value={values.email}
          error={errors.email}
          autocomplete="email"
        />
        <fieldset class={errors.requested_role ? 'field field-invalid' : 'field'}>
          <legend>I am a</legend>
          {errors.requested_role && (
            <p class="field-error" id="field-requested_role-error">
              {errors.requested_role}
            </p>
          )}
          {radio('farmer', 'farmer')}
          {radio('technician', 'technician')}
        </fieldset>
        <TextField
          name="password"
          label="Password"
          type="password"
          required
          error={errors.password}
          autocomplete="new-password"
          hint="At least 12 characters, not your email, not a common password."
        />
        <TextAreaField
          name="message"
          label="Which farm, and anything the administrator should know"
          rows={3}
          maxlength={1000}
          value={values.message}
          error={errors.message}
        />
        <Button>Send request</Button>
      </form>
    ),
  });
}
