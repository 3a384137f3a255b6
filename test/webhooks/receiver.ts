/**
 * A real HTTP webhook receiver on loopback for the webhook tests (not a test
 * file). `answer` decides each status code, or `'hang'` to keep the request
 * open (a receiver that is slow, or a worker that dies mid-delivery).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type ServerResponse,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedEvent {
  id: string;
  type: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  event: ReceivedEvent;
  answered: number | 'hang';
  at: number;
}

export class Receiver {
  readonly received: Received[] = [];
  answer: (event: ReceivedEvent, seen: number) => number | 'hang' = () => 200;
  private server!: Server;
  private readonly hanging: ServerResponse[] = [];
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const event = JSON.parse(body) as ReceivedEvent;
        const seen = this.received.filter((r) => r.event.id === event.id).length;
        const answered = this.answer(event, seen);
        this.received.push({ headers: request.headers, body, event, answered, at: Date.now() });
        if (answered === 'hang') this.hanging.push(response);
        else response.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Deliveries answered 2xx whose event matches. */
  accepted(match: (event: ReceivedEvent) => boolean): Received[] {
    return this.received.filter(
      (r) => typeof r.answered === 'number' && r.answered < 300 && match(r.event),
    );
  }

  close(): Promise<void> {
    for (const response of this.hanging.splice(0)) response.destroy();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
