// The receipt after paying, or word that the seat was paid already.

import { screenHeading, type View } from '../app';
import { h } from '../dom';
import { formatDateTime, formatWon } from '../format';
import type { PayMutation } from '../gql/graphql';
import { endSession } from '../session';
import type { Concert, ConcertDate } from './catalog';

export function confirmationView(
  concert: Concert,
  date: ConcertDate,
  payment: PayMutation['pay'],
  remaining: number | null,
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
    h('p', {}, 'Your turn in the sale is finished, so the next person in line can come in.'),
    h('button', { type: 'button', onclick: () => endSession() }, 'Done'),
  );
  return { name: 'confirmation', title: 'Payment confirmed', el };
}

/**
 * The seat was paid for already (say, in another tab): no receipt to
 * show here, but nothing left to do on the hold either.
 */
export function alreadyPaidView(concert: Concert, date: ConcertDate, seat: number): View {
  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'confirmation' },
    ...screenHeading('Already paid'),
    h('p', { class: 'success' }, `Seat ${seat} is already paid for. Nothing was charged again.`),
    h('p', { class: 'subtitle' }, `${concert.title} · ${formatDateTime(date.startsAt)}`),
    h('button', { type: 'button', onclick: () => endSession() }, 'Done'),
  );
  return { name: 'confirmation', title: 'Already paid', el };
}
