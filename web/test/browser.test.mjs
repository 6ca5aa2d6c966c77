// The client in a real browser against a real server: two users at once,
// a hold that runs out, a seat someone else took. Screenshots of each
// screen land in web/test-results/. Any console error fails the test.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DESKTOP, PHONE, launchBrowser, onScreen, openPage, screenshot, startServer } from './harness.mjs';

async function join(page, userId) {
  await page.goto('/');
  await onScreen(page, 'join');
  await page.getByLabel('User id').fill(userId);
  await page.getByRole('button', { name: 'Join the queue' }).click();
}

/** Concerts → the first concert → its first date → the seat grid. */
async function openFirstDate(page) {
  await onScreen(page, 'concerts');
  await page.locator('[data-screen="concerts"] .choice').first().click();
  await onScreen(page, 'dates');
  await page.locator('[data-screen="dates"] .choice').first().click();
  await onScreen(page, 'seats');
  await page.locator('label.seat.free').first().waitFor();
}

const seat = (page, number) => page.locator(`label.seat[data-seat="${number}"]`);
const alert = (page, text) => page.getByRole('alert').filter({ hasText: text });

function assertClean(...pages) {
  for (const page of pages) assert.deepEqual(page.problems, [], 'no console errors');
}

test('A buys while B waits at position 0; B is let in without a reload', { timeout: 60_000 }, async () => {
  const server = await startServer({ SEATLINE_QUEUE_CAPACITY: '1' });
  const browser = await launchBrowser();
  try {
    const a = await openPage(browser, server.url, DESKTOP);
    const b = await openPage(browser, server.url, PHONE);

    await a.goto('/');
    await a.getByLabel('User id').fill('alice');
    await screenshot(a, '01-join');
    await a.getByRole('button', { name: 'Join the queue' }).click();
    await onScreen(a, 'concerts');
    await screenshot(a, '02-concerts');

    // B finds the one slot taken and waits, first in line.
    await join(b, 'bob');
    await onScreen(b, 'waiting');
    await b.locator('#position[data-position="0"]').waitFor();
    assert.match(await b.locator('#position').textContent(), /next in line/i);
    await screenshot(b, '03-waiting-room');
    // A reload would lose this.
    await b.evaluate(() => {
      window.seatlineNoReload = true;
    });

    await a.locator('[data-screen="concerts"] .choice').first().click();
    await onScreen(a, 'dates');
    await screenshot(a, '04-dates');
    await a.locator('[data-screen="dates"] .choice').first().click();
    await onScreen(a, 'seats');
    await a.locator('label.seat.free[data-seat="7"]').waitFor();
    // What a screen reader announces for a seat.
    assert.equal(await a.getByRole('radio', { name: /^Seat 7, ₩[\d,]+$/ }).count(), 1);
    await screenshot(a, '05-seat-grid');

    await seat(a, 7).click();
    await a.getByRole('button', { name: /^Hold seat 7 for/ }).click();
    await onScreen(a, 'hold');
    assert.match(await a.locator('#countdown').textContent(), /^[45]:\d\d$/);
    await screenshot(a, '06-hold');

    // Paying with an empty balance: INSUFFICIENT_BALANCE, shown as a message.
    await a.getByRole('button', { name: /^Pay / }).click();
    await alert(a, 'balance does not cover').waitFor();
    // Above the single-charge limit: INVALID_AMOUNT.
    const amount = a.getByLabel('Top-up amount (won)');
    const shortfall = await amount.inputValue();
    assert.ok(Number(shortfall) > 0, 'the top-up is prefilled with the shortfall');
    await amount.fill('20000000');
    await a.getByRole('button', { name: 'Top up' }).click();
    await alert(a, 'top-up amount is not allowed').waitFor();
    await amount.fill(shortfall);
    await a.getByRole('button', { name: 'Top up' }).click();
    await a.locator('#wallet-balance', { hasNotText: '₩0' }).waitFor();
    await screenshot(a, '07-balance');

    await a.getByRole('button', { name: /^Pay / }).click();
    await onScreen(a, 'confirmation');
    const paid = Date.now();
    assert.match(await a.locator('.success').textContent(), /Seat 7 is yours/);
    await screenshot(a, '08-confirmation');

    // B's page lets B in by itself: pushed, not polled, not reloaded.
    await onScreen(b, 'concerts', 2_000);
    const switched = Date.now() - paid;
    assert.ok(switched < 2_000, `B switched after ${switched} ms`);
    assert.equal(await b.evaluate(() => window.seatlineNoReload), true, 'B was not reloaded');
    await screenshot(b, '09-admitted');

    // The seat A bought is taken on B's grid.
    await openFirstDate(b);
    await b.locator('label.seat.taken[data-seat="7"]').waitFor();
    assert.equal(await b.locator('#seat-7').isDisabled(), true);
    assert.equal(await b.getByRole('radio', { name: 'Seat 7, taken' }).count(), 1);
    await screenshot(b, '10-seat-taken');

    assertClean(a, b);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('a hold that runs out frees its seat; a seat another user holds is taken', { timeout: 60_000 }, async () => {
  const server = await startServer({
    SEATLINE_QUEUE_CAPACITY: '2',
    SEATLINE_HOLD_TTL_SECS: '4',
    SEATLINE_SWEEP_INTERVAL_MS: '500',
  });
  const browser = await launchBrowser();
  try {
    const c = await openPage(browser, server.url, PHONE);
    const d = await openPage(browser, server.url, DESKTOP);
    await join(c, 'carol');
    await join(d, 'dave');
    await openFirstDate(c);
    await openFirstDate(d);

    // Carol holds seat 3 with the keyboard alone: arrows pick, Tab, Enter.
    await c.locator('#seat-1').focus();
    await c.keyboard.press('ArrowRight');
    await c.keyboard.press('ArrowRight');
    assert.equal(await c.locator('#seat-3').isChecked(), true);
    await c.keyboard.press('Tab');
    await c.keyboard.press('Enter');
    await onScreen(c, 'hold');
    const countdown = await c.locator('#countdown').textContent();
    assert.match(countdown, /^0:0[1-4]$/);

    // Dave's grid still showed seat 3 free: SEAT_UNAVAILABLE, then taken.
    await seat(d, 3).click();
    await d.getByRole('button', { name: /^Hold seat 3 for/ }).click();
    await alert(d, 'someone else just took that seat').waitFor();
    await d.locator('label.seat.taken[data-seat="3"]').waitFor();
    assert.equal(await d.locator('#seat-3').isDisabled(), true);
    await screenshot(d, '11-seat-unavailable');

    // Carol's countdown runs out: back to the grid, seat 3 free again.
    await onScreen(c, 'seats', 8_000);
    await c.getByRole('status').filter({ hasText: 'ran out' }).first().waitFor();
    await c.locator('label.seat.free[data-seat="3"]').waitFor();
    await screenshot(c, '12-hold-expired');

    await d.getByRole('button', { name: 'Refresh seats' }).click();
    await d.locator('label.seat.free[data-seat="3"]').waitFor();

    // A reload keeps the tab's ticket: the stream's first message lets Dave back in.
    await d.reload();
    await onScreen(d, 'concerts');
    assert.match(await d.locator('#account').textContent(), /dave/);

    assertClean(c, d);
  } finally {
    await browser.close();
    await server.stop();
  }
});
