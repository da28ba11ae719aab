import type { Flash } from '../view-types.ts';

const TITLES = { success: 'Done', error: 'Error', warning: 'Warning', info: 'Note' } as const;

/**
 * Messages carried over a POST → redirect ("Animal saved", "Password changed"). Errors are alerts
 * (read out at once); the rest are polite status messages.
 */
export function FlashMessages({ messages }: { messages: readonly Flash[] }) {
  if (messages.length === 0) return null;
  return (
    <div class="flashes">
      {messages.map((m) => (
        <div class={`flash flash-${m.kind}`} role={m.kind === 'error' ? 'alert' : 'status'}>
          <strong>{TITLES[m.kind]}:</strong> {m.text}
        </div>
      ))}
    </div>
  );
}
