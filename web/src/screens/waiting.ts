// The waiting room: position and estimated wait, pushed by queueUpdates
// (or polled while the live connection is down).

import { screenHeading, type Ticket, type View } from '../app';
import { h, setMessage } from '../dom';
import { peopleAhead } from '../errors';
import { formatWait } from '../format';

interface Refs {
  position: HTMLElement;
  wait: HTMLElement;
  live: HTMLElement;
}

/** The waiting view on screen, if any. */
let refs: Refs | null = null;
/** Why live updates are down, if they are; shown by every waiting view. */
let liveNotice = '';

export function waitingView(ticket: Ticket): View {
  const position = h('p', { id: 'position', class: 'big' });
  const wait = h('p', { id: 'wait' });
  const live = h('p', { id: 'live-notice', class: 'hint', hidden: liveNotice === '' }, liveNotice);
  const own: Refs = { position, wait, live };
  refs = own;
  updateWaiting(ticket);
  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'waiting' },
    ...screenHeading('You are in the waiting room'),
    // One polite live region: each pushed change is read out once.
    h('div', { class: 'card', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }, position, wait),
    h('p', { class: 'spinner', 'aria-hidden': 'true' }),
    h(
      'p',
      {},
      'Keep this page open. It updates by itself and takes you to the seats when it is your turn. Leaving and rejoining with the same user id keeps your place.',
    ),
    live,
  );
  return {
    name: 'waiting',
    title: 'Waiting room',
    el,
    dispose: () => {
      // A waiting view that replaced this one keeps its own refs.
      if (refs === own) refs = null;
    },
  };
}

export function updateWaiting(ticket: Ticket): void {
  if (!refs) return;
  const ahead = ticket.position ?? 0;
  const text = peopleAhead(ahead);
  refs.position.textContent = text.charAt(0).toUpperCase() + text.slice(1) + '.';
  refs.position.dataset.position = String(ahead);
  refs.wait.textContent = `Estimated wait: ${formatWait(ticket.estimatedWaitSeconds)}`;
}

/** Says why live updates are down (empty: they are back). */
export function setLiveNotice(text: string): void {
  liveNotice = text;
  if (refs) setMessage(refs.live, text);
}
