import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWorkerMetrics } from './worker-metrics.ts';

// The queue gauges of one scrape come from one read of the queue (review r10 F6: the running count and
// the oldest age showed the previous scrape's read beside the depth of this one). The read is passed
// in; each call returns the next, distinguishable figures.

test('one scrape reads the queue once, and its depth, running count and ages agree', async () => {
  let reads = 0;
  const metrics = createWorkerMetrics({
    defaults: false,
    queueStats: async () => {
      reads++;
      return {
        running: reads,
        waiting: {
          ingest: { queued: 10 * reads, oldestQueuedSeconds: 5 * reads },
          regrade: { queued: 100 * reads, oldestQueuedSeconds: 50 * reads },
        },
      };
    },
  });
  const first = await metrics.registry.metrics();
  assert.equal(reads, 1);
  for (const line of [
    'cti_grading_queue_depth{reason="ingest"} 10',
    'cti_grading_queue_depth{reason="regrade"} 100',
    'cti_grading_jobs_running 1',
    'cti_grading_oldest_queued_seconds{reason="ingest"} 5',
    'cti_grading_oldest_queued_seconds{reason="regrade"} 50',
  ])
    assert.ok(first.includes(line), `${line}\n${first}`);
  // A later scrape reads again.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const second = await metrics.registry.metrics();
  assert.equal(reads, 2);
  assert.ok(second.includes('cti_grading_jobs_running 2'), second);
  assert.ok(second.includes('cti_grading_oldest_queued_seconds{reason="ingest"} 10'), second);
});
