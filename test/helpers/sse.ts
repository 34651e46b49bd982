import http from 'node:http';

export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * A Server-Sent Events client over a raw socket (EventSource cannot send headers in Node's
 * absence of one): collects every message and comment, so tests can wait for what they expect.
 */
export async function openEventStream(url: string, headers: Record<string, string> = {}) {
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  let retry: number | undefined;
  let buffer = '';
  let closed = false;
  const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false });
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  const ended = new Promise<void>((resolve) => {
    response.once('close', () => {
      closed = true;
      resolve();
    });
  });
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = { id: undefined, event: undefined, data: '' };
      let hasData = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else if (line.startsWith('retry: ')) retry = Number(line.slice(7));
        else if (line.startsWith('id: ')) message.id = line.slice(4);
        else if (line.startsWith('event: ')) message.event = line.slice(7);
        else if (line.startsWith('data: ')) {
          message.data += (hasData ? '\n' : '') + line.slice(6);
          hasData = true;
        }
      }
      if (hasData) messages.push(message);
    }
  });
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    messages,
    comments,
    get retry() {
      return retry;
    },
    get closed() {
      return closed;
    },
    /** Every `event: event` message's data, parsed. */
    events: () => messages.filter((message) => message.event === 'event').map((message) => JSON.parse(message.data) as { id: string } & Record<string, any>),
    ended,
    close: async () => {
      request.destroy();
      await ended;
    },
  };
}

export type EventStreamClient = Awaited<ReturnType<typeof openEventStream>>;
