// Every GraphQL operation the client sends. `npm run codegen` turns each
// into a typed document in src/gql/ (result and variable types included).
import { graphql } from './gql';

export const TicketFields = graphql(`
  fragment TicketFields on QueueTicket {
    token
    userId
    status
    position
    estimatedWaitSeconds
    admittedAt
    expiresAt
  }
`);

export const IssueQueueToken = graphql(`
  mutation IssueQueueToken($userId: ID!) {
    issueQueueToken(userId: $userId) {
      ...TicketFields
    }
  }
`);

export const QueueUpdates = graphql(`
  subscription QueueUpdates {
    queueUpdates {
      ...TicketFields
    }
  }
`);

/** The same ticket by polling, while the WebSocket is down (SPEC.md §1). */
export const QueueTicket = graphql(`
  query QueueTicket {
    queueTicket {
      ...TicketFields
    }
  }
`);

export const Concerts = graphql(`
  query Concerts {
    concerts {
      id
      title
    }
  }
`);

export const AvailableDates = graphql(`
  query AvailableDates($concertId: ID!) {
    availableDates(concertId: $concertId) {
      id
      startsAt
      availableSeatCount
    }
  }
`);

export const AvailableSeats = graphql(`
  query AvailableSeats($concertDateId: ID!) {
    availableSeats(concertDateId: $concertDateId) {
      number
      price
    }
  }
`);

export const HoldSeat = graphql(`
  mutation HoldSeat($concertDateId: ID!, $seatNumber: Int!, $idempotencyKey: String) {
    holdSeat(concertDateId: $concertDateId, seatNumber: $seatNumber, idempotencyKey: $idempotencyKey) {
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
`);

export const Balance = graphql(`
  query Balance {
    balance {
      amount
    }
  }
`);

export const ChargeBalance = graphql(`
  mutation ChargeBalance($amount: Int!, $idempotencyKey: String) {
    chargeBalance(amount: $amount, idempotencyKey: $idempotencyKey) {
      amount
    }
  }
`);

export const Pay = graphql(`
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
`);
