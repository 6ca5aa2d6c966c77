// The receipt after paying, or word that the seat was paid already.

import { screenHeading, show, state, type View } from '../app';
import { h } from '../dom';
import { formatDateTime, formatWon } from '../format';
import type { PayMutation } from '../gql/graphql';
import { endSession, TURN_OVER } from '../session';
import { type Concert, type ConcertDate, concertsView } from './catalog';

export function confirmationView(
  concert: Concert,
  date: ConcertDate,
  payment: PayMutation['pay'],
  remaining: number | null,
  turnGoesOn: boolean,
): View {
  const row = (term: string, value: string): HTMLElement[] => [h('dt', {}, term), h('dd', {}, value)];
  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'confirmation' },
    ...screenHeading('Payment confirmed'),
    h('p', { class: 'success' }, `Seat ${payment.reservation.seat.number} is yours. Enjoy the show!`),
    h(
      'dl',
      { class: 'receipt' },
      ...row('Concert', concert.title),
      ...row('Date', formatDateTime(date.startsAt)),
      ...row('Seat', String(payment.reservation.seat.number)),
      ...row('Paid', formatWon(payment.amount)),
      ...row('Paid at', formatDateTime(payment.paidAt)),
      ...row('Payment reference', payment.id),
      ...(remaining === null ? [] : row('Balance left', formatWon(remaining))),
    ),
    ...nextStep(turnGoesOn),
  );
  return { name: 'confirmation', title: 'Payment confirmed', el };
}

/**
 * What comes after a payment. A visitor who still holds another seat keeps
 * their turn (SPEC.md §6) and goes back to the concerts; otherwise the turn
 * is finished and Done leaves.
 */
function nextStep(turnGoesOn: boolean): HTMLElement[] {
  if (!turnGoesOn) {
    return [
      h('p', {}, 'Your turn in the sale is finished, so the next person in line can come in.'),
      h('button', { type: 'button', onclick: () => endSession() }, 'Done'),
    ];
  }
  const back = (): void => {
    // The turn may have ended while this page was shown: the other seat
    // paid for elsewhere, or the time ran out.
    if (state.session) show(concertsView());
    else endSession(state.ticket?.status === 'DONE' ? 'Your turn in the sale is finished.' : TURN_OVER);
  };
  return [
    h('p', {}, 'You still hold another seat, so your turn goes on: pay for it before its hold runs out.'),
    h('button', { type: 'button', onclick: back }, 'Back to concerts'),
  ];
}

/**
 * The seat was paid for already (say, in another tab): no receipt to
 * show here, but nothing left to do on the hold either.
 */
export function alreadyPaidView(
  concert: Concert,
  date: ConcertDate,
  seat: number,
  turnGoesOn: boolean,
): View {
  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'confirmation' },
    ...screenHeading('Already paid'),
    h('p', { class: 'success' }, `Seat ${seat} is already paid for. Nothing was charged again.`),
    h('p', { class: 'subtitle' }, `${concert.title} · ${formatDateTime(date.startsAt)}`),
    ...nextStep(turnGoesOn),
  );
  return { name: 'confirmation', title: 'Already paid', el };
}
