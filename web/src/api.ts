// The two ways to the API: `POST /graphql` (one JSON operation per
// request) and graphql-transport-ws at `/graphql/ws` for `queueUpdates`.

import { createClient, type Client } from 'graphql-ws';

import { ApiError } from './errors';
import type { TypedDocumentString } from './gql/graphql';

interface GraphQLErrorLike {
  message?: string;
  extensions?: Record<string, unknown>;
}

function toApiError(errors: readonly GraphQLErrorLike[]): ApiError {
  const first = errors[0] ?? {};
  const extensions = first.extensions ?? {};
  const code = typeof extensions.code === 'string' ? extensions.code : 'INTERNAL';
  return new ApiError(code, first.message ?? code, extensions);
}

async function post(query: string, variables: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError('NETWORK', 'fetch failed');
  }
}

/** One attempt: the typed data, or an `ApiError`. */
async function send<TResult>(query: string, variables: unknown, token?: string): Promise<TResult> {
  const response = await post(query, variables, token);
  let text: string;
  try {
    text = await response.text();
  } catch {
    // The connection dropped while the answer was on its way.
    throw new ApiError('NETWORK', 'response lost');
  }
  let body: { data?: TResult | null; errors?: GraphQLErrorLike[] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(response.ok ? 'BAD_RESPONSE' : 'NETWORK', `HTTP ${response.status}`);
  }
  if (body.errors?.length) throw toApiError(body.errors);
  if (!body.data) throw new ApiError('BAD_RESPONSE', 'no data');
  return body.data;
}

/** The waits before each automatic retry of a write. */
const RETRY_DELAYS_MS = [300, 1_000, 3_000];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => window.setTimeout(resolve, ms));

/**
 * Failures worth retrying at once: no answer (or an HTTP error without
 * one, such as a proxy's 503), or the server's `INTERNAL` (also what it
 * answers, with a 503, to a request it gave up on).
 */
function isTransient(error: unknown): boolean {
  return error instanceof ApiError && (error.is('NETWORK') || error.is('INTERNAL'));
}

/**
 * Failures that say nothing of whether an earlier attempt was written:
 * the transient ones, an answer we could not read, and a refusal to even
 * look (`RATE_LIMITED`).
 */
function isUncertain(error: unknown): boolean {
  return (
    isTransient(error) ||
    (error instanceof ApiError && (error.is('BAD_RESPONSE') || error.is('RATE_LIMITED')))
  );
}

/** The longest `retryAfterSeconds` waited out before a refusal is shown. */
const MAX_RATE_LIMIT_WAIT_S = 5;
/** `RATE_LIMITED` refusals of one request waited out before it gives up. */
const RATE_LIMIT_RETRIES = 2;

/**
 * How long to wait before sending again a request the server refused for
 * its rate (`RATE_LIMITED`), or `null` to show the refusal. A refused
 * request did nothing, so any request may be sent again; only a short wait
 * is worth sitting through behind a busy button.
 */
function rateLimitWait(error: unknown, refusals: number): number | null {
  if (!(error instanceof ApiError) || !error.is('RATE_LIMITED') || refusals >= RATE_LIMIT_RETRIES) {
    return null;
  }
  const seconds = error.extensions.retryAfterSeconds;
  if (typeof seconds !== 'number' || seconds > MAX_RATE_LIMIT_WAIT_S) return null;
  return Math.max(seconds, 0) * 1_000;
}

/**
 * Runs one query or mutation and returns its typed data, or throws an
 * `ApiError` carrying the first error's `extensions.code`.
 *
 * A mutation that carries an `idempotencyKey` is retried, with the same
 * key and a growing wait, when the network fails or the server reports
 * `INTERNAL`: the server answers a replay with the first attempt's result,
 * so a lost response never pays or holds twice. Any request refused for
 * its rate is sent again once the server's `retryAfterSeconds` has passed,
 * when that is a few seconds at most.
 */
export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<TResult> {
  const query = document.toString();
  const retriable =
    typeof variables === 'object' && variables !== null && 'idempotencyKey' in variables;
  let failures = 0;
  let refusals = 0;
  for (;;) {
    try {
      return await send<TResult>(query, variables, token);
    } catch (error) {
      const wait = rateLimitWait(error, refusals);
      if (wait !== null) {
        refusals += 1;
        await sleep(wait);
        continue;
      }
      const delay = RETRY_DELAYS_MS[failures];
      if (!retriable || delay === undefined || !isTransient(error)) throw error;
      failures += 1;
      await sleep(delay);
    }
  }
}

/** A fresh key (works outside secure contexts too). */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The idempotency key of one kind of write (holding, topping up, paying),
 * kept until the write gets a definite answer. A click after a failure
 * whose outcome is unknown (a lost response) sends the same key again, so
 * the server replays what it did instead of doing it twice, or refusing
 * the visitor's own hold as someone else's.
 */
export class PendingKey {
  private pending: { args: string; key: string; firstSentAt: number } | null = null;

  /**
   * Runs `write` with the key for `args` (what the write does, and for
   * whom): the unanswered one if `args` are the same, else a new one.
   * `firstSentAt` is when that key was first sent.
   */
  async run<T>(args: string, write: (key: string, firstSentAt: number) => Promise<T>): Promise<T> {
    if (this.pending?.args !== args) {
      this.pending = { args, key: idempotencyKey(), firstSentAt: Date.now() };
    }
    const pending = this.pending;
    try {
      const result = await write(pending.key, pending.firstSentAt);
      if (this.pending === pending) this.pending = null;
      return result;
    } catch (error) {
      if (this.pending === pending && !isUncertain(error)) this.pending = null;
      throw error;
    }
  }
}

export interface Subscription {
  stop(): void;
}

/** How often an idle socket is pinged, and how long a pong may take. */
const KEEPALIVE_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;

/**
 * Close codes with which Seatline refuses something this page sent
 * (src/http/ws.rs). The network is not to blame, and sending the same
 * thing again cannot help.
 */
const REFUSED: Record<number, string> = {
  1009: 'This page sent Seatline a message that was too big.',
  4400: 'This page sent Seatline a message it could not read.',
  4401: 'This page subscribed before Seatline accepted the connection.',
  4406: 'This page and Seatline have no protocol in common.',
  4409: 'This page subscribed twice with the same id.',
  4429: 'This page asked Seatline twice to open the connection.',
};

function socketError(error: unknown): ApiError {
  if (Array.isArray(error)) return toApiError(error);
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number') {
    const what = REFUSED[error.code];
    if (what) return new ApiError('SOCKET_REFUSED', what, { closeCode: error.code, what });
    if (error.code === 1011 || error.code === 4500) return new ApiError('INTERNAL', 'socket closed');
  }
  return new ApiError('NETWORK', 'subscription lost');
}

/**
 * Subscribes to a ticket's live state. The token travels in the
 * `connection_init` payload, so it never appears in a URL. The socket
 * reconnects by itself after a network drop (`interrupted` says when the
 * stream is down meanwhile); the server then sends the ticket's current
 * state first, so nothing is missed. `error` means the client gave up.
 */
export function subscribe<TResult>(
  operation: TypedDocumentString<TResult, Record<string, never>>,
  token: string,
  sink: {
    next(data: TResult): void;
    interrupted(): void;
    error(error: ApiError): void;
    complete(): void;
  },
): Subscription {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  let stopped = false;
  let ended = false;
  let socket: WebSocket | null = null;
  let pongTimer: number | undefined;
  // A socket can die without a close (a laptop lid, a NAT that forgot it):
  // after a ping, no pong in time drops it for a fresh one.
  const expectPong = (): void => {
    window.clearTimeout(pongTimer);
    pongTimer = window.setTimeout(() => client.terminate(), PONG_TIMEOUT_MS);
  };
  const client: Client = createClient({
    url: `${scheme}://${location.host}/graphql/ws`,
    connectionParams: { token },
    keepAlive: KEEPALIVE_MS,
    retryAttempts: 3,
    shouldRetry: () => true,
    on: {
      connected: (connected) => {
        socket = connected as WebSocket;
      },
      ping: (received) => {
        if (!received) expectPong();
      },
      pong: (received) => {
        if (received) window.clearTimeout(pongTimer);
      },
      closed: () => {
        socket = null;
        window.clearTimeout(pongTimer);
        if (!stopped && !ended) sink.interrupted();
      },
    },
  });

  // Back online: the old socket most likely went with the old network.
  const onOnline = (): void => client.terminate();
  // Back to this tab: its timers may have slept, so check the socket now.
  const onVisible = (): void => {
    if (document.visibilityState !== 'visible' || socket?.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: 'ping' }));
    expectPong();
  };
  window.addEventListener('online', onOnline);
  document.addEventListener('visibilitychange', onVisible);

  const unsubscribe = client.subscribe<TResult>(
    { query: operation.toString() },
    {
      next(result) {
        if (stopped) return;
        if (result.errors?.length) {
          ended = true;
          sink.error(toApiError(result.errors));
        } else if (result.data) {
          sink.next(result.data);
        }
      },
      error(error) {
        ended = true;
        if (!stopped) sink.error(socketError(error));
      },
      complete() {
        ended = true;
        if (!stopped) sink.complete();
      },
    },
  );
  return {
    stop() {
      stopped = true;
      window.clearTimeout(pongTimer);
      window.removeEventListener('online', onOnline);
      document.removeEventListener('visibilitychange', onVisible);
      unsubscribe();
      // dispose() waits for a connection attempt, which may fail.
      void Promise.resolve(client.dispose()).catch(() => undefined);
    },
  };
}
