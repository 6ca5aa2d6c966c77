// Concerts, then a concert's dates that still have free seats.

import { request } from '../api';
import { screenHeading, show, state, type View } from '../app';
import { h, setMessage } from '../dom';
import { formatDateTime } from '../format';
import type { AvailableDatesQuery, ConcertsQuery } from '../gql/graphql';
import { AvailableDates, Concerts } from '../operations';
import { handleError } from '../session';
import { seatsView } from './seats';

export type Concert = ConcertsQuery['concerts'][number];
export type ConcertDate = AvailableDatesQuery['availableDates'][number];

export function concertsView(notice?: string): View {
  const list = h('ul', { class: 'choices', 'aria-busy': 'true' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'concerts' },
    ...screenHeading('Choose a concert', notice),
    list,
    error,
  );
  void (async () => {
    try {
      const { concerts } = await request(Concerts, {});
      list.replaceChildren(
        ...concerts.map((concert) =>
          h('li', {}, h('button', { type: 'button', class: 'choice', onclick: () => show(datesView(concert)) }, concert.title)),
        ),
      );
      if (concerts.length === 0) list.replaceChildren(h('li', {}, 'No concerts are on sale.'));
    } catch (err) {
      handleError(err, error);
    } finally {
      list.removeAttribute('aria-busy');
    }
  })();
  return { name: 'concerts', title: 'Concerts', el };
}

export function datesView(concert: Concert, notice?: string): View {
  const list = h('ul', { class: 'choices', 'aria-busy': 'true' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'dates' },
    ...screenHeading(concert.title, notice),
    h('p', {}, 'Choose a date. Only dates with free seats are listed.'),
    list,
    error,
    h('button', { type: 'button', class: 'secondary', onclick: () => show(concertsView()) }, 'Back to concerts'),
  );
  void (async () => {
    try {
      const { availableDates } = await request(
        AvailableDates,
        { concertId: concert.id },
        state.session?.token,
      );
      list.replaceChildren(
        ...availableDates.map((date) =>
          h(
            'li',
            {},
            h(
              'button',
              { type: 'button', class: 'choice', onclick: () => show(seatsView(concert, date)) },
              h('span', {}, formatDateTime(date.startsAt)),
              h('span', { class: 'meta' }, `${date.availableSeatCount} seats free`),
            ),
          ),
        ),
      );
      if (availableDates.length === 0) {
        setMessage(error, 'This concert has no dates with free seats left.');
      }
    } catch (err) {
      handleError(err, error);
    } finally {
      list.removeAttribute('aria-busy');
    }
  })();
  return { name: 'dates', title: concert.title, el };
}
