import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../helpers/api.js';
import { PrivateRedis } from '../helpers/redis-server.js';

/** The admin API with its Redis gone: changes that must queue work answer 503 + Retry-After, reads keep working. */
describe('admin API without Redis', () => {
  let redis: PrivateRedis;
  let t: TestApi;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestApi('api_outage', { REDIS_URL: redis.url });
  });

  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('answers 503 with Retry-After when the queue is unreachable, and still serves reads', async () => {
    const created = await t.request('POST', '/api/v1/devices', { json: { name: 'door', host: '10.0.0.9', port: 80, username: 'admin', password: 'pw-123456' } });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;

    await redis.kill();
    const reconcile = await t.request('POST', `/api/v1/devices/${id}/reconcile`);
    expect(reconcile.status).toBe(503);
    expect(reconcile.headers.get('retry-after')).toBe('5');
    expect(reconcile.body).toMatchObject({ error: 'unavailable' });

    const read = await t.request('GET', `/api/v1/devices/${id}`);
    expect(read.status).toBe(200);
  });
});
