import type { Child } from 'hono/jsx';

type FieldBase = {
  name: string;
  label: string;
  /** The message shown beside the field after a failed POST; marks the field invalid. */
  error?: string;
  hint?: string;
  required?: boolean;
  /** Defaults to `field-${name}`. */
  id?: string;
};

export type TextFieldProps = FieldBase & {
  type?: 'text' | 'email' | 'password' | 'number' | 'date' | 'datetime-local' | 'search' | 'tel' | 'url';
  value?: string | number | null;
  autocomplete?: string;
  inputmode?: 'text' | 'numeric' | 'decimal' | 'email' | 'search';
  min?: string | number;
  max?: string | number;
  step?: string | number;
  pattern?: string;
  maxlength?: number;
  /**
   * Values the browser offers while the field is typed in or tapped (a `<datalist>`, label shown
   * beside each); the field still takes any text. An empty list renders none.
   */
  suggestions?: readonly { value: string; label?: string }[];
};

// Ids for the hint and the error, named in aria-describedby so screen readers read them with the field.
function described(id: string, { hint, error }: FieldBase) {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return ids || undefined;
}

// The hint and the error under a label, with the ids `described()` names.
function FieldNotes({ id, hint, error }: { id: string; hint?: string; error?: string }) {
  return (
    <>
      {hint && (
        <p class="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          <span class="visually-hidden">Error: </span>
          {error}
        </p>
      )}
    </>
  );
}

function FieldShell({
  id,
  label,
  hint,
  error,
  required,
  children,
}: FieldBase & { id: string; children: Child }) {
  return (
    <div class={error ? 'field field-invalid' : 'field'}>
      <label for={id}>
        {label}
        {required ? (
          <span class="required" aria-hidden="true">
            {' *'}
          </span>
        ) : (
          <span class="optional"> (optional)</span>
        )}
      </label>
      <FieldNotes id={id} hint={hint} error={error} />
      {children}
    </div>
  );
}

/** A labelled input whose value survives a failed POST and whose error sits beside it. */
export function TextField(props: TextFieldProps) {
  const {
    name,
    type = 'text',
    value,
    error,
    required,
    autocomplete,
    inputmode,
    min,
    max,
    step,
    pattern,
    maxlength,
    suggestions = [],
  } = props;
  const id = props.id ?? `field-${name}`;
  const list = suggestions.length > 0 ? `${id}-suggestions` : undefined;
  return (
    <FieldShell {...props} id={id}>
      <input
        id={id}
        name={name}
        type={type}
        value={type === 'password' ? undefined : (value ?? undefined)}
        required={required}
        autocomplete={autocomplete}
        inputmode={inputmode}
        min={min}
        max={max}
        step={step}
        pattern={pattern}
        maxlength={maxlength}
        list={list}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described(id, props)}
      />
      {list && (
        <datalist id={list}>
          {suggestions.map((o) => (
            <option value={o.value}>{o.label}</option>
          ))}
        </datalist>
      )}
    </FieldShell>
  );
}

export type SelectFieldProps = FieldBase & {
  options: readonly { value: string; label: string }[];
  value?: string | null;
  /** A first option with an empty value ("Any farm"). */
  placeholder?: string;
};

export function SelectField(props: SelectFieldProps) {
  const { name, options, value, placeholder, error, required } = props;
  const id = props.id ?? `field-${name}`;
  return (
    <FieldShell {...props} id={id}>
      <select
        id={id}
        name={name}
        required={required}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described(id, props)}
      >
        {placeholder !== undefined && <option value="">{placeholder}</option>}
        {options.map((o) => (
          <option value={o.value} selected={o.value === value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldShell>
  );
}

export type TextAreaFieldProps = FieldBase & { value?: string | null; rows?: number; maxlength?: number };

export function TextAreaField(props: TextAreaFieldProps) {
  const { name, value, rows = 4, maxlength, error, required } = props;
  const id = props.id ?? `field-${name}`;
  return (
    <FieldShell {...props} id={id}>
      <textarea
        id={id}
        name={name}
        rows={rows}
        maxlength={maxlength}
        required={required}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described(id, props)}
      >
        {value ?? ''}
      </textarea>
    </FieldShell>
  );
}

export type CheckboxFieldProps = Omit<FieldBase, 'required'> & { checked?: boolean; value?: string };

export function CheckboxField(props: CheckboxFieldProps) {
  const { name, label, checked, value = 'on', error, hint } = props;
  const id = props.id ?? `field-${name}`;
  return (
    <div class={error ? 'field field-check field-invalid' : 'field field-check'}>
      <input
        id={id}
        type="checkbox"
        name={name}
        value={value}
        checked={checked}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described(id, props)}
      />
      <label for={id}>{label}</label>
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

export type FieldErrors = Readonly<Record<string, string | undefined>>;

/**
 * At the top of a form that failed: "There is a problem", each error a link to its field, focusable so
 * the page can be read from there. Renders nothing without errors.
 */
export function ErrorSummary({
  errors,
  fieldIds = {},
}: {
  errors: FieldErrors;
  fieldIds?: Record<string, string>;
}) {
  const entries = Object.entries(errors).filter((e): e is [string, string] => Boolean(e[1]));
  if (entries.length === 0) return null;
  return (
    <div class="error-summary" role="alert" tabindex={-1} aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">There is a problem</h2>
      <ul>
        {entries.map(([name, message]) => (
          <li>
            <a href={`#${fieldIds[name] ?? `field-${name}`}`}>{message}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The CSRF token as a hidden field of a POST form (name as the session middleware expects it). */
export function CsrfField({ token, name = '_csrf' }: { token: string; name?: string }) {
  return <input type="hidden" name={name} value={token} />;
}
