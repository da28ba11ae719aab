import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements } from '../test-svg.ts';
import { CheckboxField, ErrorSummary, SelectField, TextAreaField, TextField } from './form-field.tsx';

describe('form fields', () => {
  it('labels the input and keeps its value', () => {
    const html = String(TextField({ name: 'tag_id', label: 'Ear tag', value: 'A-17', required: true }));
    const input = elements(html, 'input')[0]!.attrs;
    assert.equal(elements(html, 'label')[0]!.attrs.for, input.id);
    assert.deepEqual(
      [input.name, input.value, input.id, input['aria-invalid']],
      ['tag_id', 'A-17', 'field-tag_id', undefined],
    );
    assert.ok('required' in input);
  });

  it('shows the error beside the field, marks it invalid and ties hint and error to it', () => {
    const html = String(
      TextField({
        name: 'email',
        label: 'Email',
        type: 'email',
        error: 'Enter an email address like name@example.com',
        hint: 'We never share it',
      }),
    );
    const input = elements(html, 'input')[0]!.attrs;
    assert.equal(input['aria-invalid'], 'true');
    assert.equal(input['aria-describedby'], 'field-email-hint field-email-error');
    assert.equal(elements(html, 'p', 'field-error')[0]!.attrs.id, 'field-email-error');
    assert.match(html, /Error: <\/span>Enter an email address like name@example.com/);
    assert.ok(html.includes('class="field field-invalid"'));
    assert.ok(html.includes('(optional)'));
  });

  it('never echoes a password back', () => {
    const html = String(
      TextField({ name: 'password', label: 'Password', type: 'password', value: 'hunter2' }),
    );
    assert.ok(!html.includes('hunter2'));
  });

  it('selects the current option, fills a textarea, checks a checkbox', () => {
    const select = String(
      SelectField({
        name: 'farm',
        label: 'Farm',
        value: 'f2',
        placeholder: 'Any farm',
        options: [
          { value: 'f1', label: 'North' },
          { value: 'f2', label: 'South' },
        ],
      }),
    );
    assert.deepEqual(
      elements(select, 'option').map((o) => [o.attrs.value, 'selected' in o.attrs, o.text]),
      [
        ['', false, 'Any farm'],
        ['f1', false, 'North'],
        ['f2', true, 'South'],
      ],
    );
    const area = String(
      TextAreaField({ name: 'body', label: 'Text', value: '</textarea><script>x</script>' }),
    );
    assert.ok(area.includes('&lt;/textarea&gt;&lt;script&gt;'));
    const box = String(CheckboxField({ name: 'owner', label: 'Owner', checked: true }));
    assert.ok('checked' in elements(box, 'input')[0]!.attrs);
  });

  it('offers suggestions through a datalist tied to the input, and none for an empty list', () => {
    const html = String(
      TextField({
        name: 'animal',
        label: 'Animal',
        value: 'A-1',
        suggestions: [{ value: 'A-1' }, { value: '<b>', label: 'EID 982000000000001' }],
      }),
    );
    const input = elements(html, 'input')[0]!.attrs;
    assert.equal(input.list, 'field-animal-suggestions');
    assert.equal(elements(html, 'datalist')[0]!.attrs.id, 'field-animal-suggestions');
    assert.deepEqual(
      elements(html, 'option').map((o) => [o.attrs.value, o.text]),
      [
        ['A-1', ''],
        ['<b>', 'EID 982000000000001'],
      ],
    );
    assert.ok(html.includes('value="&lt;b&gt;"'), 'a suggestion is text, never markup');
    const none = String(TextField({ name: 'animal', label: 'Animal', suggestions: [] }));
    assert.ok(!none.includes('<datalist') && !('list' in elements(none, 'input')[0]!.attrs));
  });

  it('summarises errors with links to their fields, and renders nothing without errors', () => {
    const html = String(
      ErrorSummary({ errors: { email: 'Enter your email', password: undefined, tag: 'Tag taken' } }),
    );
    assert.deepEqual(
      elements(html, 'a').map((a) => [a.attrs.href, a.text]),
      [
        ['#field-email', 'Enter your email'],
        ['#field-tag', 'Tag taken'],
      ],
    );
    assert.equal(elements(html, 'div')[0]!.attrs.role, 'alert');
    assert.equal(ErrorSummary({ errors: {} }), null);
  });
});
