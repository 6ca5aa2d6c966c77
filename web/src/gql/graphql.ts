/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type QueueStatus =
  | 'DONE'
  | 'EXPIRED'
  | 'PROGRESS'
  | 'WAITING';

export type ReservationStatus =
  | 'CONFIRMED'
  | 'EXPIRED'
  | 'HELD';

export type TicketFieldsFragment = { token: string, userId: string, status: QueueStatus, position: number | null, estimatedWaitSeconds: number | null, admittedAt: string | null, expiresAt: string | null };

export type IssueQueueTokenMutationVariables = Exact<{
  userId: string;
}>;


export type IssueQueueTokenMutation = { issueQueueToken: { token: string, userId: string, status: QueueStatus, position: number | null, estimatedWaitSeconds: number | null, admittedAt: string | null, expiresAt: string | null } };

export type QueueUpdatesSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type QueueUpdatesSubscription = { queueUpdates: { token: string, userId: string, status: QueueStatus, position: number | null, estimatedWaitSeconds: number | null, admittedAt: string | null, expiresAt: string | null } };

export type QueueTicketQueryVariables = Exact<{ [key: string]: never; }>;


export type QueueTicketQuery = { queueTicket: { token: string, userId: string, status: QueueStatus, position: number | null, estimatedWaitSeconds: number | null, admittedAt: string | null, expiresAt: string | null } };

export type ConcertsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConcertsQuery = { concerts: Array<{ id: string, title: string }> };

export type AvailableDatesQueryVariables = Exact<{
  concertId: string;
}>;


export type AvailableDatesQuery = { availableDates: Array<{ id: string, startsAt: string, availableSeatCount: number }> };

export type AvailableSeatsQueryVariables = Exact<{
  concertDateId: string;
}>;


export type AvailableSeatsQuery = { availableSeats: Array<{ number: number, price: number }> };

export type HoldSeatMutationVariables = Exact<{
  concertDateId: string;
  seatNumber: number;
  idempotencyKey?: string | null | undefined;
}>;


export type HoldSeatMutation = { holdSeat: { id: string, status: ReservationStatus, price: number, heldAt: string, expiresAt: string, seat: { number: number, concertDateId: string } } };

export type BalanceQueryVariables = Exact<{ [key: string]: never; }>;


export type BalanceQuery = { balance: { amount: number } };

export type ChargeBalanceMutationVariables = Exact<{
  amount: number;
  idempotencyKey?: string | null | undefined;
}>;


export type ChargeBalanceMutation = { chargeBalance: { amount: number } };

export type PayMutationVariables = Exact<{
  reservationId: string;
  idempotencyKey?: string | null | undefined;
}>;


export type PayMutation = { pay: { id: string, amount: number, paidAt: string, reservation: { id: string, status: ReservationStatus, seat: { number: number, concertDateId: string } } } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const TicketFieldsFragmentDoc = new TypedDocumentString(`
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}
    `, {"fragmentName":"TicketFields"}) as unknown as TypedDocumentString<TicketFieldsFragment, unknown>;
export const IssueQueueTokenDocument = new TypedDocumentString(`
    mutation IssueQueueToken($userId: ID!) {
  issueQueueToken(userId: $userId) {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`) as unknown as TypedDocumentString<IssueQueueTokenMutation, IssueQueueTokenMutationVariables>;
export const QueueUpdatesDocument = new TypedDocumentString(`
    subscription QueueUpdates {
  queueUpdates {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`) as unknown as TypedDocumentString<QueueUpdatesSubscription, QueueUpdatesSubscriptionVariables>;
export const QueueTicketDocument = new TypedDocumentString(`
    query QueueTicket {
  queueTicket {
    ...TicketFields
  }
}
    fragment TicketFields on QueueTicket {
  token
  userId
  status
  position
  estimatedWaitSeconds
  admittedAt
  expiresAt
}`) as unknown as TypedDocumentString<QueueTicketQuery, QueueTicketQueryVariables>;
export const ConcertsDocument = new TypedDocumentString(`
    query Concerts {
  concerts {
    id
    title
  }
}
    `) as unknown as TypedDocumentString<ConcertsQuery, ConcertsQueryVariables>;
export const AvailableDatesDocument = new TypedDocumentString(`
    query AvailableDates($concertId: ID!) {
  availableDates(concertId: $concertId) {
    id
    startsAt
    availableSeatCount
  }
}
    `) as unknown as TypedDocumentString<AvailableDatesQuery, AvailableDatesQueryVariables>;
export const AvailableSeatsDocument = new TypedDocumentString(`
    query AvailableSeats($concertDateId: ID!) {
  availableSeats(concertDateId: $concertDateId) {
    number
    price
  }
}
    `) as unknown as TypedDocumentString<AvailableSeatsQuery, AvailableSeatsQueryVariables>;
export const HoldSeatDocument = new TypedDocumentString(`
    mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {
  holdSeat(
    concertDateId: $concertDateId
    seatNumber: $seatNumber
    idempotencyKey: $idempotencyKey
  ) {
    id
    status
    price
    heldAt
    expiresAt
    seat {
      number
      concertDateId
    }
  }
}
    `) as unknown as TypedDocumentString<HoldSeatMutation, HoldSeatMutationVariables>;
export const BalanceDocument = new TypedDocumentString(`
    query Balance {
  balance {
    amount
  }
}
    `) as unknown as TypedDocumentString<BalanceQuery, BalanceQueryVariables>;
export const ChargeBalanceDocument = new TypedDocumentString(`
    mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {
  chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {
    amount
  }
}
    `) as unknown as TypedDocumentString<ChargeBalanceMutation, ChargeBalanceMutationVariables>;
export const PayDocument = new TypedDocumentString(`
    mutation Pay($reservationId: ID!, $idempotencyKey: String) {
  pay(reservationId: $reservationId, idempotencyKey: $idempotencyKey) {
    id
    amount
    paidAt
    reservation {
      id
      status
      seat {
        number
        concertDateId
      }
    }
  }
}
    `) as unknown as TypedDocumentString<PayMutation, PayMutationVariables>;