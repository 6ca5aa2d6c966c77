// The seat grid for one date: seats 1..50, free ones with their price.
// Seats are native radio buttons, so arrow keys move between free seats
// and the whole grid is one tab stop.

import { PendingKey, request } from '../api';
import { screenHeading, show, state, type View } from '../app';
import { busy, h, setMessage } from '../dom';
import { ApiError } from '../errors';
import { formatDateTime, formatWon } from '../format';
import { AvailableSeats, HoldSeat } from '../operations';
import { handleError } from '../session';
import { datesView, type Concert, type ConcertDate } from './catalog';
import { holdView } from './hold';

export const SEATS_PER_DATE = 50;
/** Others' holds and purchases show up within this long without a click. */
const REFRESH_MS = 15_000;

/**
 * Kept across screens until a hold gets a definite answer: holding the
 * same seat again after a lost response gets that hold back, instead of
 * SEAT_UNAVAILABLE from the visitor's own hold.
 */
const holdKey = new PendingKey();

interface SeatTile {
  input: HTMLInputElement;
  label: HTMLLabelElement;
  state: HTMLElement;
}

export function seatsView(concert: Concert, date: ConcertDate, notice?: string): View {
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const tiles = new Map<number, SeatTile>();
  const prices = new Map<number, number>();
  const grid = h('div', { class: 'seat-grid' });
  for (let number = 1; number <= SEATS_PER_DATE; number += 1) {
    const input = h('input', {
      type: 'radio',
      name: 'seat',
      value: number,
      id: `seat-${number}`,
      disabled: true,
      'aria-label': `Seat ${number}, loading`,
    });
    const stateText = h('span', { class: 'seat-state' }, '…');
    // The radio's own name is what a screen reader says ("Seat 7, ₩99,000");
    // the tile is the visible, clickable face of it.
    const label = h(
      'label',
      { for: `seat-${number}`, class: 'seat loading', 'data-seat': number, 'aria-hidden': 'true' },
      h('span', { class: 'seat-number' }, number),
      stateText,
    );
    input.addEventListener('change', () => {
      setMessage(error, '');
      updateHoldButton();
    });
    grid.append(h('div', { class: 'seat-cell' }, input, label));
    tiles.set(number, { input, label, state: stateText });
  }
  const summary = h('p', { id: 'seat-summary', role: 'status', 'aria-live': 'polite' }, 'Loading seats…');
  const fieldset = h(
    'fieldset',
    { class: 'seats', 'aria-busy': 'true', 'aria-describedby': 'seat-summary' },
    h('legend', {}, `Seats 1–${SEATS_PER_DATE}`),
    h(
      'p',
      { class: 'key', 'aria-hidden': 'true' },
      h('span', { class: 'swatch free' }),
      'Free ',
      h('span', { class: 'swatch taken' }),
      'Taken ',
      h('span', { class: 'swatch chosen' }),
      'Your choice',
    ),
    grid,
  );
  const holdButton = h('button', { type: 'submit', disabled: true }, 'Choose a seat');
  /** A hold is on its way: the button stays disabled whatever else changes. */
  let holding = false;
  const refreshButton = h('button', { type: 'button', class: 'secondary', onclick: () => void refresh() }, 'Refresh seats');

  const selected = (): number | null => {
    const checked = grid.querySelector<HTMLInputElement>('input:checked');
    return checked ? Number(checked.value) : null;
  };

  function updateHoldButton(): void {
    const seat = selected();
    const price = seat === null ? undefined : prices.get(seat);
    holdButton.disabled = holding || seat === null || price === undefined;
    holdButton.textContent =
      seat === null || price === undefined ? 'Choose a seat' : `Hold seat ${seat} for ${formatWon(price)}`;
  }

  async function refresh(): Promise<void> {
    fieldset.setAttribute('aria-busy', 'true');
    try {
      const { availableSeats } = await request(
        AvailableSeats,
        { concertDateId: date.id },
        state.session?.token,
      );
      prices.clear();
      for (const seat of availableSeats) prices.set(seat.number, seat.price);
      for (const [number, tile] of tiles) {
        const price = prices.get(number);
        const free = price !== undefined;
        tile.input.disabled = !free;
        if (!free) tile.input.checked = false;
        tile.label.className = `seat ${free ? 'free' : 'taken'}`;
        tile.state.textContent = free ? formatWon(price) : 'taken';
        tile.input.setAttribute('aria-label', `Seat ${number}, ${tile.state.textContent}`);
      }
      summary.textContent = `${availableSeats.length} of ${SEATS_PER_DATE} seats free.`;
      updateHoldButton();
    } catch (err) {
      handleError(err, error);
    } finally {
      fieldset.removeAttribute('aria-busy');
    }
  }

  const form = h(
    'form',
    {
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        const seat = selected();
        if (seat === null || holding) return;
        setMessage(error, '');
        holding = true;
        const token = state.session?.token;
        try {
          const { data, sentAt } = await busy(holdButton, () =>
            holdKey.run(`${token} ${date.id} ${seat}`, async (key, firstSentAt) => ({
              data: await request(
                HoldSeat,
                { concertDateId: date.id, seatNumber: seat, idempotencyKey: key },
                token,
              ),
              sentAt: firstSentAt,
            })),
          );
          show(holdView(concert, date, data.holdSeat, sentAt));
        } catch (err) {
          handleError(err, error);
          if (err instanceof ApiError && err.is('SEAT_UNAVAILABLE')) await refresh();
        } finally {
          holding = false;
          updateHoldButton();
        }
      },
    },
    fieldset,
    summary,
    h('div', { class: 'actions' }, holdButton, refreshButton),
  );

  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'seats' },
    ...screenHeading('Pick a seat', notice),
    h('p', { class: 'subtitle' }, `${concert.title} · ${formatDateTime(date.startsAt)}`),
    form,
    error,
    h('button', { type: 'button', class: 'secondary', onclick: () => show(datesView(concert)) }, 'Back to dates'),
  );

  void refresh();
  const timer = window.setInterval(() => void refresh(), REFRESH_MS);
  const onVisible = (): void => {
    if (document.visibilityState === 'visible') void refresh();
  };
  document.addEventListener('visibilitychange', onVisible);
  return {
    name: 'seats',
    title: 'Pick a seat',
    el,
    dispose: () => {
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
