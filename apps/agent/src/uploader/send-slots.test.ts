import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSendSlots } from './send-slots.ts';

test('slots are granted first come first served and never more than the size at once', async () => {
  const slots = createSendSlots(2);
  const order: string[] = [];
  assert.equal(await slots.acquire(), true);
  assert.equal(await slots.acquire(), true);
  const waiters = ['c', 'd', 'e'].map((name) =>
    slots.acquire().then((granted) => {
      order.push(`${name}:${granted}`);
    }),
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, [], 'both slots are taken');
  slots.release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['c:true']);
  slots.release();
  slots.release();
  await Promise.all(waiters);
  assert.deepEqual(order, ['c:true', 'd:true', 'e:true']);
});

test('cancelAll turns the waiters away; released slots are free again', async () => {
  const slots = createSendSlots(1);
  assert.equal(await slots.acquire(), true);
  const waiting = [slots.acquire(), slots.acquire()];
  slots.cancelAll();
  assert.deepEqual(await Promise.all(waiting), [false, false]);
  slots.release();
  assert.equal(await slots.acquire(), true, 'the released slot is free');
});
