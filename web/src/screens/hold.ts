// A held seat: a countdown to its expiresAt, the balance with a top-up,
// and paying.

import { PendingKey, request } from '../api';
import { refreshBalance, screenHeading, setBalance, show, state, type View } from '../app';
import { busy, h, setMessage } from '../dom';
import { ApiError, describeError } from '../errors';
import { formatClock, formatCountdown, formatDateTime, formatWon } from '../format';
import type { HoldSeatMutation } from '../gql/graphql';
import { ChargeBalance, Pay, QueueTicket } from '../operations';
import { endSession, handleError, TURN_OVER } from '../session';
import type { Concert, ConcertDate } from './catalog';
import { alreadyPaidView, confirmationView } from './confirmation';
import { seatsView } from './seats';

export type Reservation = HoldSeatMutation['holdSeat'];

/** GraphQL `Int` is 32-bit; larger amounts cannot even be sent. */
const MAX_INT = 2_147_483_647;

/** Kept across screens until a top-up or a payment gets a definite answer. */
const topUpKey = new PendingKey();
const payKey = new PendingKey();

/**
 * Whether the visitor's turn goes on after a payment: it does while they
 * hold another seat (say, from another tab), which they may still pay for
 * (SPEC.md §6). Asked after the payment's answer, so the answer counts it;
 * when the question fails, the turn is taken as over, which it usually is.
 */
async function turnGoesOn(token: string | undefined): Promise<boolean> {
  try {
    const { queueTicket } = await request(QueueTicket, {}, token);
    return queueTicket.status === 'PROGRESS';
  } catch {
    return false;
  }
}

/**
 * `sentAt` is the local time the hold was first requested. The server
 * stamped `heldAt` after that, so a countdown that runs for
 * `expiresAt - heldAt` from `sentAt` ends no later than the hold, and a
 * wrong clock on this device cannot make it lie. The visitor's turn
 * (the ticket's `expiresAt`) may end first: then that is the deadline.
 */
export function holdView(
  concert: Concert,
  date: ConcertDate,
  reservation: Reservation,
  sentAt: number,
): View {
  const seat = reservation.seat.number;
  const turnEndsAt = state.ticket?.expiresAt;
  const turnFirst = turnEndsAt != null && Date.parse(turnEndsAt) < Date.parse(reservation.expiresAt);
  const endsAt = turnFirst ? turnEndsAt : reservation.expiresAt;
  const lasts = Date.parse(endsAt) - Date.parse(reservation.heldAt);
  const deadline = sentAt + lasts;
  // The hold has arrived, so counted from now it is surely over on the
  // server too: only then does the seat show as free on the grid.
  const over = Date.now() + lasts;
  const token = state.session?.token;

  const countdown = h('span', { id: 'countdown', class: 'countdown' });
  const timer = h(
    'p',
    { class: 'timer', role: 'timer', 'aria-live': 'off', 'aria-labelledby': 'countdown-label' },
    h('span', { id: 'countdown-label' }, 'Time left to pay '),
    countdown,
  );
  const announce = h('p', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });

  const balance = h('strong', { id: 'wallet-balance' }, state.balance === null ? '…' : formatWon(state.balance));
  const amount = h('input', {
    id: 'top-up-amount',
    name: 'amount',
    type: 'number',
    inputmode: 'numeric',
    min: 1,
    step: 1,
    required: true,
    'aria-describedby': 'top-up-hint',
  });
  const topUpButton = h('button', { type: 'submit', class: 'secondary' }, 'Top up');
  const payButton = h('button', { type: 'button', id: 'pay' }, `Pay ${formatWon(reservation.price)}`);

  function showBalance(value: number): void {
    setBalance(value);
    balance.textContent = formatWon(value);
    // Suggest exactly what is missing; nothing once the balance covers it.
    const shortfall = reservation.price - value;
    amount.value = shortfall > 0 ? String(shortfall) : '';
  }

  const topUp = h(
    'form',
    {
      class: 'top-up',
      onsubmit: async (event: SubmitEvent) => {
        event.preventDefault();
        setMessage(error, '');
        const value = Number(amount.value);
        if (!Number.isInteger(value) || value <= 0 || value > MAX_INT) {
          setMessage(error, describeError(new ApiError('INVALID_AMOUNT', 'client check')));
          amount.focus();
          return;
        }
        try {
          const data = await busy(topUpButton, () =>
            topUpKey.run(`${token} ${value}`, (key) =>
              request(ChargeBalance, { amount: value, idempotencyKey: key }, token),
            ),
          );
          showBalance(data.chargeBalance.amount);
          announce.textContent = `Topped up. Your balance is ${formatWon(data.chargeBalance.amount)}.`;
          payButton.focus();
        } catch (err) {
          handleError(err, error);
          amount.focus();
        }
      },
    },
    h('label', { for: 'top-up-amount' }, 'Top-up amount (won)'),
    h('p', { id: 'top-up-hint', class: 'hint' }, 'Whole won, added to your prepaid balance.'),
    h('div', { class: 'inline' }, amount, topUpButton),
  );

  payButton.addEventListener('click', async () => {
    setMessage(error, '');
    try {
      // The button stays busy until the next screen is known: paid (now or
      // before), and whether the turn goes on.
      const paid = await busy(payButton, async () => {
        const payment = await payKey
          .run(`${token} ${reservation.id}`, (key) =>
            request(Pay, { reservationId: reservation.id, idempotencyKey: key }, token),
          )
          .then(
            (data) => data.pay,
            (err: unknown) => {
              if (err instanceof ApiError && err.is('ALREADY_PAID')) return null;
              throw err;
            },
          );
        return { payment, goesOn: await turnGoesOn(token) };
      });
      stop();
      if (paid.payment === null) {
        show(alreadyPaidView(concert, date, seat, paid.goesOn));
        return;
      }
      const remaining = state.balance === null ? null : state.balance - paid.payment.amount;
      if (remaining !== null) setBalance(remaining);
      show(confirmationView(concert, date, paid.payment, remaining, paid.goesOn));
    } catch (err) {
      if (err instanceof ApiError && err.is('HOLD_EXPIRED')) {
        stop();
        show(seatsView(concert, date, describeError(err)));
        return;
      }
      handleError(err, error);
      if (err instanceof ApiError && err.is('INSUFFICIENT_BALANCE')) amount.focus();
    }
  });

  const el = h(
    'section',
    { class: 'screen', 'data-screen': 'hold' },
    ...screenHeading(`Seat ${seat} is held for you`),
    h('p', { class: 'subtitle' }, `${concert.title} · ${formatDateTime(date.startsAt)}`),
    h(
      'div',
      { class: 'card' },
      timer,
      h(
        'p',
        { class: 'hint' },
        turnFirst
          ? `Pay before ${formatClock(endsAt)}, when your turn in the sale ends.`
          : `Pay before ${formatClock(endsAt)}, or the seat is released.`,
      ),
      h('p', {}, 'Price ', h('strong', {}, formatWon(reservation.price))),
    ),
    h(
      'section',
      { class: 'wallet', 'aria-labelledby': 'wallet-heading' },
      h('h2', { id: 'wallet-heading' }, 'Your balance'),
      h('p', {}, 'Balance ', balance),
      topUp,
    ),
    error,
    announce,
    h('div', { class: 'actions' }, payButton),
  );

  let warned = false;
  function tick(): void {
    const now = Date.now();
    countdown.textContent = formatCountdown(deadline - now);
    if (deadline - now <= 60_000 && !warned) {
      warned = true;
      announce.textContent = 'Less than a minute left to pay.';
    }
    // The countdown shows 0:00 for up to the hold request's round trip
    // before the server agrees.
    if (now >= over) {
      stop();
      if (turnFirst) endSession(TURN_OVER);
      else show(seatsView(concert, date, `Your hold on seat ${seat} ran out, so the seat is free again.`));
    }
  }
  const interval = window.setInterval(tick, 250);
  const stop = (): void => window.clearInterval(interval);
  tick();

  if (state.balance === null) {
    void refreshBalance()
      .then(showBalance)
      .catch((err: unknown) => handleError(err, error));
  } else {
    showBalance(state.balance);
  }

  return { name: 'hold', title: `Seat ${seat} held`, el, dispose: stop };
}
