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

/**
 * Runs one query or mutation and returns its typed data, or throws an
 * `ApiError` carrying the first error's `extensions.code`.
 *
 * A mutation that carries an `idempotencyKey` is retried once, with the
 * same key, when the network fails: the server answers a replay with the
 * first attempt's result, so a lost response never pays or holds twice.
 */
export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<TResult> {
  const query = document.toString();
  const retriable =
    typeof variables === 'object' && variables !== null && 'idempotencyKey' in variables;
  let response: Response;
  try {
    response = await post(query, variables, token);
  } catch (error) {
    if (!retriable) throw error;
    response = await post(query, variables, token);
  }
  let body: { data?: TResult | null; errors?: GraphQLErrorLike[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.ok ? 'BAD_RESPONSE' : 'NETWORK', `HTTP ${response.status}`);
  }
  if (body.errors?.length) throw toApiError(body.errors);
  if (!body.data) throw new ApiError('BAD_RESPONSE', 'no data');
  return body.data;
}

/** A fresh key for one user action (works outside secure contexts too). */
export function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface Subscription {
  stop(): void;
}

/**
 * Subscribes to a ticket's live state. The token travels in the
 * `connection_init` payload, so it never appears in a URL. The socket
 * reconnects by itself after a network drop; the server then sends the
 * ticket's current state first, so nothing is missed.
 */
export function subscribe<TResult>(
  document: TypedDocumentString<TResult, Record<string, never>>,
  token: string,
  sink: { next(data: TResult): void; error(error: ApiError): void; complete(): void },
): Subscription {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const client: Client = createClient({
    url: `${scheme}://${location.host}/graphql/ws`,
    connectionParams: { token },
    retryAttempts: 10,
    shouldRetry: () => true,
  });
  let stopped = false;
  const unsubscribe = client.subscribe<TResult>(
    { query: document.toString() },
    {
      next(result) {
        if (stopped) return;
        if (result.errors?.length) {
          sink.error(toApiError(result.errors));
        } else if (result.data) {
          sink.next(result.data);
        }
      },
      error(error) {
        if (stopped) return;
        sink.error(
          Array.isArray(error) ? toApiError(error) : new ApiError('NETWORK', 'subscription lost'),
        );
      },
      complete() {
        if (!stopped) sink.complete();
      },
    },
  );
  return {
    stop() {
      stopped = true;
      unsubscribe();
      void client.dispose();
    },
  };
}
