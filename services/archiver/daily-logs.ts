import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { HikvisionEvent } from '../../libs/hikvision/event-model.js';
import type { RawEvent } from '../../libs/jobs/raw-event.js';
import { createMicroBatcher } from './micro-batcher.js';
import type { StoredPicture } from './picture-store.js';

interface LogLine {
  fileName: string;
  line: string;
}

/**
 * The original server's daily logs, kept file-compatible:
 *   logs/hikvision_events_YYYY-MM-DD.log  one JSON line per archived event
 *   logs/Access Log YYYY-MM-DD.log         one readable line per access-control event
 * Files stay open in append mode (O_APPEND) and whole lines go out in a single write, which the
 * kernel applies atomically on a local file system: several archiver replicas never interleave
 * or tear lines (shared network file systems such as NFS do not promise this; see the README).
 * Days follow the server's local time zone (TZ), as the original's did. Lines of concurrent jobs
 * are gathered (group commit): one write per file for all of them.
 */
export function createDailyLogs(dataDir: string, options: { observeBatch?: (size: number) => void } = {}) {
  const directory = join(dataDir, 'logs');
  const handles = new Map<string, { handle: Promise<FileHandle>; usedAt: number }>();

  const handleFor = (fileName: string): Promise<FileHandle> => {
    const now = Date.now();
    const known = handles.get(fileName);
    if (known) {
      known.usedAt = now;
      return known.handle;
    }
    // A new file (a new day): close the ones nobody wrote to for a minute (yesterday's).
    for (const [name, entry] of handles) {
      if (now - entry.usedAt > 60_000) {
        handles.delete(name);
        void entry.handle.then((h) => h.close()).catch(() => {});
      }
    }
    const handle = mkdir(directory, { recursive: true }).then(() => open(join(directory, fileName), 'a'));
    handle.catch(() => handles.delete(fileName));
    handles.set(fileName, { handle, usedAt: now });
    return handle;
  };

  const append = async (fileName: string, lines: string[]) => {
    const bytes = Buffer.from(lines.map((line) => `${line.replace(/[\r\n]+/g, ' ')}\n`).join(''));
    const { bytesWritten } = await (await handleFor(fileName)).write(bytes);
    if (bytesWritten !== bytes.length) throw new Error(`short write to ${fileName}: ${bytesWritten} of ${bytes.length} bytes`);
  };

  const lines = createMicroBatcher<LogLine[], void>({
    maxBatch: 500,
    run: async (batch) => {
      const byFile = new Map<string, string[]>();
      for (const { fileName, line } of batch.flat()) {
        const file = byFile.get(fileName);
        if (file) file.push(line);
        else byFile.set(fileName, [line]);
      }
      await Promise.all([...byFile].map(([fileName, fileLines]) => append(fileName, fileLines)));
      return batch.map(() => undefined);
    },
    observe: options.observeBatch,
  });

  return {
    write(raw: RawEvent, event: HikvisionEvent, pictures: StoredPicture[]): Promise<void> {
      const day = localDay(new Date(raw.receivedAt));
      const eventLines = [{ fileName: `hikvision_events_${day}.log`, line: JSON.stringify(eventLogRecord(raw, event, pictures)) }];
      if (event.family === 'access_control') eventLines.push({ fileName: `Access Log ${day}.log`, line: accessLogLine(raw, event, pictures) });
      return lines.add(eventLines);
    },
    async close(): Promise<void> {
      const entries = [...handles.values()];
      handles.clear();
      await Promise.all(entries.map((entry) => entry.handle.then((h) => h.close()).catch(() => {})));
    },
  };
}

export type DailyLogs = ReturnType<typeof createDailyLogs>;

export function localDay(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function eventLogRecord(raw: RawEvent, event: HikvisionEvent, pictures: StoredPicture[]) {
  return {
    id: raw.id,
    received_at: raw.receivedAt,
    remote_address: raw.remoteAddress,
    path: raw.path,
    event_type: event.eventType,
    event_state: event.eventState,
    device_time: event.deviceTime,
    occurred_at: event.occurredAt?.toISOString() ?? null,
    mac_address: event.macAddress,
    ip_address: event.ipAddress,
    channel_id: event.channelId,
    pictures: pictures.map((picture) => picture.path),
    payload: event.document,
  };
}

/** "2023-12-01T02:48:43+08:00 | device cam 3 (bc:5e:33:5c:3a:db) | employee 3 | Boss | face verified | pictures/…jpg" */
export function accessLogLine(raw: RawEvent, event: HikvisionEvent, pictures: StoredPicture[]): string {
  const device = [event.deviceName, event.macAddress ?? event.ipAddress ?? raw.remoteAddress].filter(Boolean);
  const deviceText = device.length === 2 ? `${device[0]} (${device[1]})` : (device[0] ?? 'unknown');
  return [
    event.deviceTime ?? raw.receivedAt,
    `device ${deviceText}`,
    `employee ${event.employeeNo ?? '-'}`,
    event.personName ?? '-',
    event.verifyResult ?? '-',
    pictures[0]?.path ?? 'no picture',
  ].join(' | ');
}
