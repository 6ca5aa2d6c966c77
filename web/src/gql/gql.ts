/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment TicketFields on QueueTicket {\n    token\n    userId\n    status\n    position\n    estimatedWaitSeconds\n    admittedAt\n    expiresAt\n  }\n": typeof types.TicketFieldsFragmentDoc,
    "\n  mutation IssueQueueToken($userId: ID!) {\n    issueQueueToken(userId: $userId) {\n      ...TicketFields\n    }\n  }\n": typeof types.IssueQueueTokenDocument,
    "\n  subscription QueueUpdates {\n    queueUpdates {\n      ...TicketFields\n    }\n  }\n": typeof types.QueueUpdatesDocument,
    "\n  query QueueTicket {\n    queueTicket {\n      ...TicketFields\n    }\n  }\n": typeof types.QueueTicketDocument,
    "\n  query Concerts {\n    concerts {\n      id\n      title\n    }\n  }\n": typeof types.ConcertsDocument,
    "\n  query AvailableDates($concertId: ID!) {\n    availableDates(concertId: $concertId) {\n      id\n      startsAt\n      availableSeatCount\n    }\n  }\n": typeof types.AvailableDatesDocument,
    "\n  query AvailableSeats($concertDateId: ID!) {\n    availableSeats(concertDateId: $concertDateId) {\n      number\n      price\n    }\n  }\n": typeof types.AvailableSeatsDocument,
    "\n  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {\n    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {\n      id\n      status\n      price\n      heldAt\n      expiresAt\n      seat {\n        number\n        concertDateId\n      }\n    }\n  }\n": typeof types.HoldSeatDocument,
    "\n  query Balance {\n    balance {\n      amount\n    }\n  }\n": typeof types.BalanceDocument,
    "\n  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {\n    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {\n      amount\n    }\n  }\n": typeof types.ChargeBalanceDocument,
    "\n  mutation Pay($reservationId: ID!, $idempotencyKey: String) {\n    pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {\n      id\n      amount\n      paidAt\n      reservation {\n        id\n        status\n        seat {\n          number\n          concertDateId\n        }\n      }\n    }\n  }\n": typeof types.PayDocument,
};
const documents: Documents = {
    "\n  fragment TicketFields on QueueTicket {\n    token\n    userId\n    status\n    position\n    estimatedWaitSeconds\n    admittedAt\n    expiresAt\n  }\n": types.TicketFieldsFragmentDoc,
    "\n  mutation IssueQueueToken($userId: ID!) {\n    issueQueueToken(userId: $userId) {\n      ...TicketFields\n    }\n  }\n": types.IssueQueueTokenDocument,
    "\n  subscription QueueUpdates {\n    queueUpdates {\n      ...TicketFields\n    }\n  }\n": types.QueueUpdatesDocument,
    "\n  query QueueTicket {\n    queueTicket {\n      ...TicketFields\n    }\n  }\n": types.QueueTicketDocument,
    "\n  query Concerts {\n    concerts {\n      id\n      title\n    }\n  }\n": types.ConcertsDocument,
    "\n  query AvailableDates($concertId: ID!) {\n    availableDates(concertId: $concertId) {\n      id\n      startsAt\n      availableSeatCount\n    }\n  }\n": types.AvailableDatesDocument,
    "\n  query AvailableSeats($concertDateId: ID!) {\n    availableSeats(concertDateId: $concertDateId) {\n      number\n      price\n    }\n  }\n": types.AvailableSeatsDocument,
    "\n  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {\n    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {\n      id\n      status\n      price\n      heldAt\n      expiresAt\n      seat {\n        number\n        concertDateId\n      }\n    }\n  }\n": types.HoldSeatDocument,
    "\n  query Balance {\n    balance {\n      amount\n    }\n  }\n": types.BalanceDocument,
    "\n  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {\n    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {\n      amount\n    }\n  }\n": types.ChargeBalanceDocument,
    "\n  mutation Pay($reservationId: ID!, $idempotencyKey: String) {\n    pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {\n      id\n      amount\n      paidAt\n      reservation {\n        id\n        status\n        seat {\n          number\n          concertDateId\n        }\n      }\n    }\n  }\n": types.PayDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TicketFields on QueueTicket {\n    token\n    userId\n    status\n    position\n    estimatedWaitSeconds\n    admittedAt\n    expiresAt\n  }\n"): typeof import('./graphql').TicketFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation IssueQueueToken($userId: ID!) {\n    issueQueueToken(userId: $userId) {\n      ...TicketFields\n    }\n  }\n"): typeof import('./graphql').IssueQueueTokenDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription QueueUpdates {\n    queueUpdates {\n      ...TicketFields\n    }\n  }\n"): typeof import('./graphql').QueueUpdatesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query QueueTicket {\n    queueTicket {\n      ...TicketFields\n    }\n  }\n"): typeof import('./graphql').QueueTicketDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Concerts {\n    concerts {\n      id\n      title\n    }\n  }\n"): typeof import('./graphql').ConcertsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AvailableDates($concertId: ID!) {\n    availableDates(concertId: $concertId) {\n      id\n      startsAt\n      availableSeatCount\n    }\n  }\n"): typeof import('./graphql').AvailableDatesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AvailableSeats($concertDateId: ID!) {\n    availableSeats(concertDateId: $concertDateId) {\n      number\n      price\n    }\n  }\n"): typeof import('./graphql').AvailableSeatsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {\n    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {\n      id\n      status\n      price\n      heldAt\n      expiresAt\n      seat {\n        number\n        concertDateId\n      }\n    }\n  }\n"): typeof import('./graphql').HoldSeatDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Balance {\n    balance {\n      amount\n    }\n  }\n"): typeof import('./graphql').BalanceDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {\n    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {\n      amount\n    }\n  }\n"): typeof import('./graphql').ChargeBalanceDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Pay($reservationId: ID!, $idempotencyKey: String) {\n    pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {\n      id\n      amount\n      paidAt\n      reservation {\n        id\n        status\n        seat {\n          number\n          concertDateId\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').PayDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
