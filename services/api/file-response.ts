import { createReadStream } from 'node:fs';
import type { Response } from 'express';

/** Streams a file as the rest of the answer (headers already set); resolves when the client has it or went away. */
export function streamFile(res: Response, file: string): Promise<void> {
  return new Promise<void>((done, fail) => {
    const stream = createReadStream(file);
    stream.once('error', (error) => {
      res.destroy();
      fail(error);
    });
    res.once('close', () => {
      stream.destroy();
      done();
    });
    stream.pipe(res);
  });
}
