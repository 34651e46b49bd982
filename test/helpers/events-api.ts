import { readFile } from 'node:fs/promises';
import { accessEventDocument, newIdPrefix, notificationBody, pushingDevice, type PushingDevice } from '../../tools/simulator/event-documents.js';
import { multipartContentType } from '../../tools/simulator/multipart-body.js';
import { startTestApi } from './api.js';
import { startTestArchiver } from './archiver.js';
import { startTestIngest } from './ingest.js';
import { buildPost, sendRaw } from './raw-http.js';

export const faceJpeg = () => readFile(new URL('../../tools/simulator/assets/face.jpg', import.meta.url));

/**
 * The admin API with a real archiver and ingest on the same database, Redis prefix and data
 * directory: events posted the way a face terminal posts them become archived rows the API reads.
 */
export async function startEventsWorld(label: string, apiOverrides: Record<string, string> = {}) {
  const t = await startTestApi(label, apiOverrides);
  const shared = { DATABASE_URL: t.env.DATABASE_URL, QUEUE_PREFIX: t.env.QUEUE_PREFIX, DATA_DIR: t.env.DATA_DIR };
  const archiver = await startTestArchiver({ ...shared, ARCHIVER_CONCURRENCY: '2' });
  const ingest = await startTestIngest({ QUEUE_PREFIX: t.env.QUEUE_PREFIX });
  const idPrefix = newIdPrefix();
  const devices: PushingDevice[] = [pushingDevice(0, idPrefix), pushingDevice(1, idPrefix)];
  const face = await faceJpeg();

  /** One access event as a face terminal posts it (multipart JSON, optionally with the face picture). */
  async function postAccessEvent(options: { device?: number; picture?: boolean } = {}): Promise<void> {
    const device = devices[options.device ?? 0]!;
    const body = notificationBody(accessEventDocument(device, new Date(), options.picture ?? false), options.picture ? face : undefined);
    const answer = await sendRaw(ingest.port, buildPost('/event/notification', body, { 'Content-Type': multipartContentType() }));
    if (answer?.status !== 200) throw new Error(`ingest answered ${answer?.status ?? 'nothing'}`);
  }

  async function postRaw(path: string, body: string | Buffer, contentType: string): Promise<void> {
    const answer = await sendRaw(ingest.port, buildPost(path, body, { 'Content-Type': contentType }));
    if (answer?.status !== 200) throw new Error(`ingest answered ${answer?.status ?? 'nothing'}`);
  }

  return {
    ...t,
    archiver,
    ingest,
    devices,
    face,
    postAccessEvent,
    postRaw,
    url: (path: string) => `http://127.0.0.1:${t.api.port}${path}`,
    close: async () => {
      await ingest.stop();
      await archiver.stop();
      await t.close();
    },
  };
}

export type EventsWorld = Awaited<ReturnType<typeof startEventsWorld>>;
