import { describe, expect, it } from 'vitest';
import { ServiceProcess } from '../helpers/service-process.js';
import { waitFor } from '../helpers/wait.js';

describe('a process that meets an uncaught exception', () => {
  it('logs it as fatal JSON and exits 70 for its supervisor to restart it', async () => {
    const child = ServiceProcess.start('test/integration/entries/throws-uncaught.ts', {});
    try {
      await waitFor(async () => child.exited, 20_000, 'the process to exit');
      expect(await child.stop()).toBe(70);
      const fatal = child.logs.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: string; msg: string; err?: { message: string } }).find((entry) => entry.level === 'fatal');
      expect(fatal).toMatchObject({ msg: 'uncaught exception; exiting', err: { message: 'a bug in an event callback' } });
    } finally {
      await child.crash();
    }
  });
});
