// Every error code of the API contract (SPEC.md section 7) with the
// message a person sees. `Record<ErrorCode, …>` makes the compiler refuse
// a missing code.

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'NOT_ADMITTED'
  | 'TOKEN_EXPIRED'
  | 'NOT_FOUND'
  | 'SEAT_UNAVAILABLE'
  | 'HOLD_LIMIT'
  | 'HOLD_EXPIRED'
  | 'INVALID_AMOUNT'
  | 'INSUFFICIENT_BALANCE'
  | 'ALREADY_PAID'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'INTERNAL';

/**
 * Failures that never reached the API: no answer, not a GraphQL one, or
 * the live connection closed over something this page sent.
 */
export type ClientCode = 'NETWORK' | 'BAD_RESPONSE' | 'SOCKET_REFUSED';

type Extensions = Record<string, unknown>;

const MESSAGES: Record<ErrorCode | ClientCode, (ext: Extensions) => string> = {
  UNAUTHENTICATED: () => 'We could not recognise your queue ticket. Please join the queue again.',
  NOT_ADMITTED: (ext) =>
    typeof ext.position === 'number'
      ? `It is not your turn yet: ${peopleAhead(ext.position)}. This page lets you in by itself.`
      : 'It is not your turn yet. This page lets you in by itself.',
  TOKEN_EXPIRED: () => 'Your turn in the sale has ended. Join the queue again to continue.',
  NOT_FOUND: () => 'We could not find that reservation. It may belong to another account.',
  SEAT_UNAVAILABLE: () => 'Sorry, someone else just took that seat. Please pick another one.',
  HOLD_LIMIT: () =>
    'You are already holding as many seats as allowed. Pay for one, or wait for a hold to run out.',
  HOLD_EXPIRED: () => 'Your hold on this seat ran out and the seat was released. Please pick a seat again.',
  INVALID_AMOUNT: () =>
    'That top-up amount is not allowed. Enter a whole number of won above zero and within the single top-up limit.',
  INSUFFICIENT_BALANCE: () => 'Your balance does not cover this seat. Top up and try again.',
  ALREADY_PAID: () => 'This seat is already paid for. Nothing was charged again.',
  BAD_USER_INPUT: () => 'Something in that request was not valid. Check what you entered and try again.',
  RATE_LIMITED: (ext) =>
    typeof ext.retryAfterSeconds === 'number'
      ? `Too many requests. Please wait ${ext.retryAfterSeconds} s and try again.`
      : 'Too many requests. Please wait a moment and try again.',
  IDEMPOTENCY_KEY_REUSED: () =>
    'That request clashed with an earlier one. Please try again.',
  INTERNAL: () => 'Something went wrong on our side. Please try again in a moment.',
  NETWORK: () => 'We cannot reach Seatline right now. Check your connection and try again.',
  BAD_RESPONSE: () => 'Seatline sent an answer we did not understand. Please try again.',
  SOCKET_REFUSED: (ext) =>
    `Live updates stopped (code ${String(ext.closeCode)}). ${String(ext.what)} Reloading the page may help.`,
};

export function peopleAhead(position: number): string {
  if (position === 0) return 'you are next in line';
  return position === 1 ? '1 person is ahead of you' : `${position} people are ahead of you`;
}

/** An error the API (or the way to it) reported, with its code. */
export class ApiError extends Error {
  readonly code: string;
  readonly extensions: Extensions;

  constructor(code: string, message: string, extensions: Extensions = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.extensions = extensions;
  }

  is(code: ErrorCode | ClientCode): boolean {
    return this.code === code;
  }
}

/** The human message for any failure. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const message = MESSAGES[error.code as ErrorCode | ClientCode];
    return message ? message(error.extensions) : `Unexpected error (${error.code}). Please try again.`;
  }
  return MESSAGES.BAD_RESPONSE({});
}
