// The visitor's ticket and its live `queueUpdates` stream, which decides
// the screen: WAITING shows the waiting room, PROGRESS lets the visitor
// in, DONE or EXPIRED ends the session. While the stream is down, the
// ticket is polled (`queueTicket`) until a new stream sends it.

import { request, subscribe, type Subscription } from './api';
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
import { QueueTicket, QueueUpdates } from './operations';
import { concertsView } from './screens/catalog';
import { joinView } from './screens/join';
import { setLiveNotice, updateWaiting, waitingView } from './screens/waiting';

/** How often the ticket is polled while the stream is down. */
const POLL_MS = 5_000;
/** How long after the stream gave up a new one is tried. */
const RESUBSCRIBE_MS = 15_000;

export const TURN_OVER = 'Your time in the sale ran out. Join the queue again to continue.';

let queue: Subscription | null = null;
let poller: number | undefined;
let resubscribe: number | undefined;

/** Starts following `session`'s ticket; `ticket` is its state if known. */
export function startSession(session: Session, ticket?: Ticket): void {
  stopFollowing();
  state.session = session;
  state.lastUserId = session.userId;
  saveSession(session);
  follow(session.token);
  if (ticket) onTicket(ticket);
}

/** Errors after which the token is of no more use. */
function isSessionOver(error: unknown): boolean {
  return error instanceof ApiError && (error.is('UNAUTHENTICATED') || error.is('TOKEN_EXPIRED'));
}

function follow(token: string): void {
  queue = subscribe(QueueUpdates, token, {
    next: (data) => {
      stopPolling();
      onTicket(data.queueUpdates);
    },
    // The socket dropped and is reconnecting.
    interrupted: () => startPolling(token),
    error: (error) => {
      if (isSessionOver(error)) {
        endSession(describeError(error));
        return;
      }
      // Anything else (a server error, a socket refused or down for a
      // while) leaves the ticket as it was: poll it, and try a new stream
      // in a while.
      const why = error.is('NETWORK') ? 'Live updates cannot get through right now.' : describeError(error);
      streamLost(token, `${why} Meanwhile this page checks your place every few seconds.`);
    },
    // After DONE or EXPIRED the session has already stopped the stream, so
    // a stream that completes now ended early.
    complete: () => streamLost(token, ''),
  });
}

function streamLost(token: string, notice: string): void {
  queue?.stop();
  queue = null;
  startPolling(token);
  setLiveNotice(notice);
  window.clearTimeout(resubscribe);
  resubscribe = window.setTimeout(() => {
    resubscribe = undefined;
    if (state.session?.token === token) follow(token);
  }, RESUBSCRIBE_MS);
}

function startPolling(token: string): void {
  if (poller !== undefined) return;
  const poll = async (): Promise<void> => {
    const polling = poller;
    try {
      const data = await request(QueueTicket, {}, token);
      // A push may have taken over, or the session ended, meanwhile.
      if (poller === polling && state.session?.token === token) onTicket(data.queueTicket);
    } catch (error) {
      if (isSessionOver(error) && state.session?.token === token) endSession(describeError(error));
      // Anything else: the next poll tries again.
    }
  };
  poller = window.setInterval(() => void poll(), POLL_MS);
  void poll();
}

function stopPolling(): void {
  window.clearInterval(poller);
  poller = undefined;
  setLiveNotice('');
}

function stopFollowing(): void {
  queue?.stop();
  queue = null;
  stopPolling();
  window.clearTimeout(resubscribe);
  resubscribe = undefined;
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
        endSession(TURN_OVER);
      } else {
        finish();
        renderHeader();
      }
      break;
  }
}

/** Stops following the ticket and forgets it, keeping the current screen. */
export function finish(): void {
  stopFollowing();
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
    if (isSessionOver(error)) {
      endSession(message);
      return;
    }
    if (error.is('NOT_ADMITTED') && state.ticket) {
      // Back in line: the stream moves on from here when the turn comes.
      const position = typeof error.extensions.position === 'number' ? error.extensions.position : null;
      state.ticket = { ...state.ticket, status: 'WAITING', position };
      show(waitingView(state.ticket));
      return;
    }
  }
  setMessage(region, message);
}
