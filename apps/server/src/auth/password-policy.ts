import type { Problem } from '@cti/contracts';
import { COMMON_PASSWORDS } from './common-passwords.ts';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

/**
 * The password policy (README "Accounts and access"): 12 to 128 characters, not the email address
 * or its name part, not a common password (also with digits or symbols appended), not one repeated
 * character. Returns every problem with `pointer` naming the field; empty when acceptable.
 *
 * @example checkPasswordPolicy('hunter2', 'ann@example.com', '/password') // [{ pointer: '/password', … }]
 */
export function checkPasswordPolicy(password: string, email: string, pointer = '/password'): Problem[] {
  const problems: Problem[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH)
    problems.push({ pointer, message: `must be at least ${PASSWORD_MIN_LENGTH} characters long` });
  if (length > PASSWORD_MAX_LENGTH)
    problems.push({ pointer, message: `must be at most ${PASSWORD_MAX_LENGTH} characters long` });
  const lower = password.toLowerCase();
  const address = email.trim().toLowerCase();
  const name = address.split('@')[0] ?? '';
  if (lower === address || (name.length >= 4 && lower.includes(name))) {
    problems.push({ pointer, message: 'must not be or contain your email address' });
  }
  const stem = lower.replace(/[\d\W_]+$/u, '');
  if (
    COMMON_PASSWORDS.has(lower) ||
    COMMON_PASSWORDS.has(stem) ||
    COMMON_PASSWORDS.has(lower.replace(/\s+/g, ''))
  ) {
    problems.push({ pointer, message: 'is a commonly used password; choose another' });
  }
  if (length > 0 && new Set(password).size === 1) {
    problems.push({ pointer, message: 'must not be one character repeated' });
  }
  return problems;
}
