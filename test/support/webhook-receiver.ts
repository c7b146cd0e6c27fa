import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status this receiver answered. */
  status: number;
}

/**
 * An in-process webhook receiver on 127.0.0.1 for tests that drive the dispatcher by hand:
 * records every request and answers from a script (default 204).
 */
export class TestReceiver {
  readonly received: ReceivedWebhook[] = [];
  private readonly script: number[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<TestReceiver> {
    let receiver: TestReceiver | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        const status = receiver?.script.shift() ?? 204;
        receiver?.received.push({ headers: req.headers, body, status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    receiver = new TestReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    return receiver;
  }

  /** Answers the next requests with these statuses, in order. */
  answer(...statuses: number[]): void {
    this.script.push(...statuses);
  }

  /** The parsed bodies received, in order. */
  bodies(): Array<{ type: string; timestamp: string; data: Record<string, unknown> }> {
    return this.received.map((r) => JSON.parse(r.body));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
