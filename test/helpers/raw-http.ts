import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/**
 * Send bytes exactly as given over a fresh TCP connection and read one response — the way a
 * device's odd requests (no Host header, IE9 headers, captures replayed byte for byte) arrive.
 * Resolves with null when the server closes without answering.
 */
export function sendRaw(port: number, bytes: Buffer | string, options: { timeoutMs?: number; host?: string } = {}): Promise<RawResponse | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: options.host ?? '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    const tryParse = (final: boolean) => {
      const text = Buffer.concat(chunks).toString('latin1');
      const headerEnd = text.indexOf('\r\n\r\n');
      if (headerEnd === -1) return final ? done(null) : undefined;
      const [statusLine, ...headerLines] = text.slice(0, headerEnd).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? NaN);
      const body = text.slice(headerEnd + 4);
      if (Number.isFinite(length) && body.length < length && !final) return undefined;
      done({ status: Number(statusLine?.split(' ')[1]), headers, body: Number.isFinite(length) ? body.slice(0, length) : body, raw: text });
    };
    const done = (response: RawResponse | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('error', (error) => {
      if (chunks.length) tryParse(true);
      else if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') done(null);
      else {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.write(bytes);
  });
}

/** A minimal HTTP/1.1 POST with an exact Content-Length. */
export function buildPost(path: string, body: Buffer | string, headers: Record<string, string> = {}): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const head = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${payload.length}`, 'Connection: close', '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}
