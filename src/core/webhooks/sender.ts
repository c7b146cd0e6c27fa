/**
 * The HTTP delivery port: core decides what to send and when, an adapter sends it
 * (`adapters/webhooks/http-sender.ts`). Core imports no network library.
 */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The whole attempt (connect, send, response headers) must finish within this. */
  timeoutMs: number;
  /** Aborts the attempt (the node is shutting down). */
  signal?: AbortSignal | undefined;
}

/**
 * What came back: the HTTP status, or why there was none. `error` is a short reason
 * (`timeout`, `ECONNREFUSED`, `address not allowed`…) that never carries the URL or headers.
 */
export type WebhookResponse = { status: number; error?: undefined } | { status?: undefined; error: string };

export interface WebhookSender {
  /** Never rejects for network failures: they are answers (`{ error }`), not exceptions. */
  send(request: WebhookRequest): Promise<WebhookResponse>;
}

/** Resolves a host name to its addresses (for `KEYWARD_WEBHOOK_DENY_PRIVATE` at registration). */
export type HostResolver = (host: string) => Promise<string[]>;

/**
 * The in-memory sender: records every request and answers from a script (default 200). For
 * tests and simulations.
 */
export class RecordingSender implements WebhookSender {
  readonly requests: WebhookRequest[] = [];
  private readonly script: WebhookResponse[] = [];

  constructor(private readonly fallback: WebhookResponse = { status: 200 }) {}

  /** Queues answers for the next requests, in order; after them, the fallback. */
  answer(...responses: WebhookResponse[]): this {
    this.script.push(...responses);
    return this;
  }

  async send(request: WebhookRequest): Promise<WebhookResponse> {
    this.requests.push(request);
    return this.script.shift() ?? this.fallback;
  }
}
