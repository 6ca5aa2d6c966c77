// The waiting room: position and estimated wait, pushed by queueUpdates.

import { screenHeading, type Ticket, type View } from '../app';
import { h } from '../dom';
import { peopleAhead } from '../errors';
import { formatWait } from '../format';

let refs: { position: HTMLElement; wait: HTMLElement } | null = null;

export function waitingView(ticket: Ticket): View {
  const position = h('p', { id: 'position', class: 'big' });
  const wait = h('p', { id: 'wait' });
  refs = { position, wait };
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
  );
  return {
    name: 'waiting',
    title: 'Waiting room',
    el,
    dispose: () => {
      refs = null;
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
