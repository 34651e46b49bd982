import { UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENTS_QUEUE } from '../../libs/jobs/events.js';
import { runJobsCommand } from '../../libs/jobs/jobs-cli.js';
import { createContractWorker, createQueue } from '../../libs/jobs/queues.js';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

describe('npm run jobs', () => {
  const { prefix, cleanup } = createTestPrefix('jobs-cli');
  afterAll(cleanup);
  const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix };

  it('lists failed jobs with their reason and moves them back to waiting', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const queue = createQueue(EVENTS_QUEUE, redis, prefix);
    const worker = createContractWorker(
      EVENTS_QUEUE,
      {
        'event.archive': async () => {
          throw new UnrecoverableError('postgres was down for too long');
        },
        'event.archive-batch': async () => {},
        'event.reprocess-quarantined': async () => {},
      },
      { connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix },
    );
    try {
      await queue.add('event.archive', { v: 1, id: '01938000-0000-7000-8000-0000000000aa', receivedAt: new Date().toISOString(), remoteAddress: 'x', method: 'POST', path: '/', query: '', headers: {}, body: { key: 'k', bytes: 0, chunks: 1 } }, { jobId: 'job-a' });
      await waitFor(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'job to fail');
      await worker.close();

      const lines: string[] = [];
      expect(await runJobsCommand(['failed'], env, (line) => lines.push(line))).toBe(0);
      expect(lines).toEqual([expect.stringMatching(/^events job-a event\.archive attempts=1 .* postgres was down for too long$/)]);

      lines.length = 0;
      expect(await runJobsCommand(['retry-failed'], env, (line) => lines.push(line))).toBe(0);
      expect(lines).toEqual(['events: 1 failed job(s) moved back to waiting', 'provisioning: 0 failed job(s) moved back to waiting']);
      expect(await queue.getJobState('job-a')).toBe('waiting');

      lines.length = 0;
      await runJobsCommand(['counts'], env, (line) => lines.push(line));
      expect(lines[0]).toMatch(/^events: waiting=1 active=0 delayed=0 prioritized=0 completed=0 failed=0$/);
      expect(await runJobsCommand(['nonsense'], env, () => {})).toBe(64);
    } finally {
      await worker.close();
      await queue.close();
      redis.disconnect();
    }
  });
});
