// The visitor's ticket and its live `queueUpdates` stream, which decides
// the screen: WAITING shows the waiting room, PROGRESS lets the visitor
// in, DONE or EXPIRED ends the session. No polling anywhere.

import { subscribe, type Subscription } from './api';
import {
  currentScreen,
  refreshBalance,
  renderHeader,
  saveSession,
  show,
  state,
  type Session,
  type Ticket,
} from './app';
import { setMessage } from './dom';
import { ApiError, describeError } from './errors';
import { QueueUpdates } from './operations';
import { concertsView } from './screens/catalog';
import { joinView } from './screens/join';
import { updateWaiting, waitingView } from './screens/waiting';

let queue: Subscription | null = null;

/** Starts following `session`'s ticket; `ticket` is its state if known. */
export function startSession(session: Session, ticket?: Ticket): void {
  state.session = session;
  state.lastUserId = session.userId;
  saveSession(session);
  queue?.stop();
  queue = subscribe(QueueUpdates, session.token, {
    next: (data) => onTicket(data.queueUpdates),
    error: (error) => {
      // The stream is gone for good (bad token, or the network stayed down).
      endSession(describeError(error));
    },
    complete: () => {
      queue = null;
    },
  });
  if (ticket) onTicket(ticket);
}

function onTicket(ticket: Ticket): void {
  const previous = state.ticket?.status;
  state.ticket = ticket;
  const screen = currentScreen();
  switch (ticket.status) {
    case 'WAITING':
      if (screen === 'waiting') updateWaiting(ticket);
      else show(waitingView(ticket));
      break;
    case 'PROGRESS':
      if (previous !== 'PROGRESS' || screen === 'waiting' || screen === 'connecting') {
        state.balance = null;
        show(concertsView(screen === 'waiting' ? 'It is your turn! Choose a concert.' : undefined));
        void refreshBalance().catch(() => undefined);
      } else {
        renderHeader();
      }
      break;
    case 'DONE':
      // Paying the last hold finishes the ticket. The push may beat the
      // payment's own response, so the hold screen waits for it too.
      if (screen === 'confirmation' || screen === 'hold') {
        finish();
        renderHeader();
      } else {
        endSession('Your turn in the sale is finished.');
      }
      break;
    case 'EXPIRED':
      if (screen !== 'confirmation') {
        endSession('Your time in the sale ran out. Join the queue again to continue.');
      } else {
        finish();
        renderHeader();
      }
      break;
  }
}

/** Stops following the ticket and forgets it, keeping the current screen. */
export function finish(): void {
  queue?.stop();
  queue = null;
  state.session = null;
  saveSession(null);
}

/** Ends the session and returns to the join screen with `notice`. */
export function endSession(notice?: string): void {
  finish();
  state.ticket = null;
  state.balance = null;
  show(joinView(notice, state.lastUserId));
}

/**
 * Shows `error` in `region`, and leaves the screen when the error means
 * the visitor's turn is over or has not come yet.
 */
export function handleError(error: unknown, region: HTMLElement): void {
  const message = describeError(error);
  if (error instanceof ApiError) {
    if (error.is('UNAUTHENTICATED') || error.is('TOKEN_EXPIRED')) {
      endSession(message);
      return;
    }
    if (error.is('NOT_ADMITTED') && state.ticket) {
      show(waitingView({ ...state.ticket, status: 'WAITING' }));
      return;
    }
  }
  setMessage(region, message);
}
