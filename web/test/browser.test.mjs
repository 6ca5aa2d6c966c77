// The client in a real browser against a real server: two users at once,
// a hold that runs out, a seat someone else took, lost responses, a full
// or silent WebSocket. Screenshots of each screen land in
// web/test-results/. Any console error fails the test, except those a
// test provokes on purpose.

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

/** Resolves once `condition()` holds; fails after `timeout` ms. */
async function until(condition, timeout = 10_000) {
  const end = Date.now() + timeout;
  while (!condition()) {
    assert.ok(Date.now() < end, `still waiting after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const seat = (page, number) => page.locator(`label.seat[data-seat="${number}"]`);
const alert = (page, text) => page.getByRole('alert').filter({ hasText: text });

/**
 * Runs GraphQL in `page` with its session's token, as another tab of the
 * same visitor would; resolves to the response body.
 */
function inOtherTab(page, query, variables = {}) {
  return page.evaluate(
    async ({ query, variables }) => {
      const { token } = JSON.parse(sessionStorage.getItem('seatline.session'));
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return response.json();
    },
    { query, variables },
  );
}

/** Holds seat `number` on the first date through the page; the reservation. */
async function holdThroughPage(page, number) {
  await openFirstDate(page);
  const held = page.waitForResponse((r) => r.request().postData()?.includes('holdSeat('));
  await seat(page, number).click();
  await page.getByRole('button', { name: new RegExp(`^Hold seat ${number} for`) }).click();
  await onScreen(page, 'hold');
  return (await (await held).json()).data.holdSeat;
}

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
    assert.match(await a.locator('[data-screen="confirmation"]').textContent(), /turn in the sale is finished/);
    assert.equal(await a.getByRole('button', { name: 'Done' }).count(), 1);
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

test('a seat another user holds is taken; the countdown stops at the end of the turn', { timeout: 60_000 }, async () => {
  // Holds last the default 5 minutes; a turn lasts 2. Nothing here races a
  // clock: the turn outlasts the test.
  const server = await startServer({ SEATLINE_QUEUE_CAPACITY: '2', SEATLINE_ACTIVE_TTL_SECS: '120' });
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
    // The hold lasts 5 minutes, but Carol's turn ends first.
    assert.match(await c.locator('#countdown').textContent(), /^([01]:\d\d|2:00)$/);
    await c.getByText('when your turn in the sale ends').waitFor();

    // Dave's grid still showed seat 3 free: SEAT_UNAVAILABLE, then taken.
    await seat(d, 3).click();
    await d.getByRole('button', { name: /^Hold seat 3 for/ }).click();
    await alert(d, 'someone else just took that seat').waitFor();
    await d.locator('label.seat.taken[data-seat="3"]').waitFor();
    assert.equal(await d.locator('#seat-3').isDisabled(), true);
    await screenshot(d, '11-seat-unavailable');

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

test('a hold that runs out frees its seat', { timeout: 60_000 }, async () => {
  const server = await startServer({
    SEATLINE_QUEUE_CAPACITY: '2',
    SEATLINE_HOLD_TTL_SECS: '5',
    SEATLINE_SWEEP_INTERVAL_MS: '500',
  });
  const browser = await launchBrowser();
  try {
    const c = await openPage(browser, server.url, PHONE);
    await join(c, 'carol');
    await holdThroughPage(c, 3);

    // The countdown runs out: back to the grid, seat 3 free again.
    await onScreen(c, 'seats', 15_000);
    await c.getByRole('status').filter({ hasText: 'ran out' }).first().waitFor();
    await c.locator('label.seat.free[data-seat="3"]').waitFor({ timeout: 5_000 });
    await screenshot(c, '12-hold-expired');

    assertClean(c);
  } finally {
    await browser.close();
    await server.stop();
  }
});

/**
 * Lets the test decide the fate of each hold, top-up and payment `page`
 * sends: `plan.holdSeat = ['lose']` delivers the next hold but loses its
 * response; 'drop' loses the request itself; 'park' holds it until
 * `release()`, then loses its response. The rest pass. `keys` records each
 * request's idempotencyKey.
 */
async function intercept(page) {
  const keys = { holdSeat: [], chargeBalance: [], pay: [] };
  const plan = { holdSeat: [], chargeBalance: [], pay: [] };
  let release;
  const released = new Promise((resolve) => {
    release = resolve;
  });
  await page.route('**/graphql', async (route) => {
    const body = route.request().postDataJSON();
    const field = Object.keys(keys).find((name) => body?.query?.includes(`${name}(`));
    if (!field) return route.continue();
    keys[field].push(body.variables.idempotencyKey);
    const step = plan[field].shift() ?? 'pass';
    if (step === 'pass') return route.continue();
    if (step === 'drop') return route.abort('failed');
    if (step === 'park') await released;
    await route.fetch();
    return route.abort('failed');
  });
  return { keys, plan, release };
}

/** Console errors a test provokes on purpose: requests it aborted, sockets refused. */
const expected = (problem) =>
  /Failed to load resource|WebSocket connection to .* failed/.test(problem);

const holdButton = (page) => page.locator('[data-screen="seats"] button[type="submit"]');

test('lost responses: hold, top-up and pay are retried with the same key', { timeout: 60_000 }, async () => {
  const server = await startServer({ SEATLINE_QUEUE_CAPACITY: '1' });
  const browser = await launchBrowser();
  try {
    const e = await openPage(browser, server.url, DESKTOP);
    const { keys, plan, release } = await intercept(e);
    await join(e, 'erin');
    await openFirstDate(e);

    // The hold is parked: picking other seats leaves the Hold button disabled.
    plan.holdSeat.push('park', 'drop', 'drop', 'drop');
    await seat(e, 7).click();
    await e.getByRole('button', { name: /^Hold seat 7 for/ }).click();
    await e.waitForFunction(() => document.querySelector('[aria-busy="true"][type="submit"]'));
    await seat(e, 5).click();
    assert.equal(await holdButton(e).isDisabled(), true, 'disabled after a seat change');
    await seat(e, 7).click();
    assert.equal(await holdButton(e).isDisabled(), true, 'still disabled');
    // It reaches the server, its answer is lost, and so are the retries.
    release();
    await alert(e, 'cannot reach Seatline').waitFor({ timeout: 10_000 });
    assert.equal(keys.holdSeat.length, 4);
    // Clicking again gets the hold the first attempt made, not SEAT_UNAVAILABLE.
    await e.getByRole('button', { name: /^Hold seat 7 for/ }).click();
    await onScreen(e, 'hold');
    assert.match(await e.locator('h1').textContent(), /Seat 7 is held/);
    assert.equal(new Set(keys.holdSeat).size, 1, 'one key for every attempt');

    // A top-up whose answer is lost is retried at once, with its key.
    plan.chargeBalance.push('lose');
    await e.waitForFunction(() => document.querySelector('#top-up-amount')?.value !== '');
    const shortfall = await e.getByLabel('Top-up amount (won)').inputValue();
    await e.getByRole('button', { name: 'Top up' }).click();
    await e.locator('#wallet-balance', { hasNotText: '₩0' }).waitFor();
    assert.equal(keys.chargeBalance.length, 2);
    assert.equal(new Set(keys.chargeBalance).size, 1, 'one key for both attempts');
    assert.equal(await e.locator('#wallet-balance').textContent(), `₩${Number(shortfall).toLocaleString('en')}`);

    // The payment commits (finishing the ticket) but no answer gets back;
    // clicking Pay again still shows the receipt.
    plan.pay.push('lose', 'drop', 'drop', 'drop');
    await e.getByRole('button', { name: /^Pay / }).click();
    await alert(e, 'cannot reach Seatline').waitFor({ timeout: 10_000 });
    await e.getByRole('button', { name: /^Pay / }).click();
    await onScreen(e, 'confirmation');
    assert.match(await e.locator('.success').textContent(), /Seat 7 is yours/);
    assert.equal(keys.pay.length, 5);
    assert.equal(new Set(keys.pay).size, 1, 'one key for every attempt');

    assert.deepEqual(e.problems.filter((problem) => !expected(problem)), [], 'no other console errors');
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('with no WebSocket to be had, the waiting room polls and still lets B in', { timeout: 60_000 }, async () => {
  // One WebSocket for the whole server: A's. B's upgrade is answered 503.
  const server = await startServer({ SEATLINE_QUEUE_CAPACITY: '1', SEATLINE_WS_MAX_CONNECTIONS: '1' });
  const browser = await launchBrowser();
  try {
    const a = await openPage(browser, server.url, DESKTOP);
    const b = await openPage(browser, server.url, PHONE);
    const connected = new Promise((resolve) => a.on('websocket', (ws) => ws.once('framereceived', resolve)));
    await join(a, 'alice');
    await onScreen(a, 'concerts');
    await connected;

    const polled = b.waitForRequest((r) => r.postData()?.includes('queueTicket'));
    await join(b, 'bob');
    await onScreen(b, 'waiting');
    await polled;
    await b.locator('#position[data-position="0"]').waitFor();

    await holdThroughPage(a, 9);
    await a.waitForFunction(() => document.querySelector('#top-up-amount')?.value !== '');
    await a.getByRole('button', { name: 'Top up' }).click();
    await a.locator('#wallet-balance', { hasNotText: '₩0' }).waitFor();
    await a.getByRole('button', { name: /^Pay / }).click();
    await onScreen(a, 'confirmation');

    // The next poll (or a socket, now that A's is closed) lets B in.
    await onScreen(b, 'concerts', 8_000);

    assertClean(a);
    assert.deepEqual(b.problems.filter((problem) => !expected(problem)), [], 'no other console errors');
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('a socket that stops answering is replaced; the ticket is polled meanwhile', { timeout: 60_000 }, async () => {
  const server = await startServer({ SEATLINE_QUEUE_CAPACITY: '1' });
  const browser = await launchBrowser();
  try {
    const g = await openPage(browser, server.url, DESKTOP);
    // The first socket goes silent once the stream is live: the page's
    // pings get no pong, as on a connection that died without a close.
    let sockets = 0;
    let live = false;
    await g.routeWebSocket('**/graphql/ws', (ws) => {
      const first = sockets === 0;
      sockets += 1;
      const server = ws.connectToServer();
      ws.onMessage((message) => server.send(message));
      server.onMessage((message) => {
        if (first && live) return;
        if (String(message).includes('"next"')) live = true;
        ws.send(message);
      });
    });
    await join(g, 'gina');
    await onScreen(g, 'concerts');
    await until(() => live);

    // Coming back to the tab checks the socket: no pong, so a new socket,
    // and the ticket is polled until it is up.
    const polled = g.waitForRequest((r) => r.postData()?.includes('queueTicket'), { timeout: 10_000 });
    await g.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await polled;
    await until(() => sockets === 2);
    await onScreen(g, 'concerts');

    assertClean(g);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('a seat paid for elsewhere shows as paid, and its countdown stops', { timeout: 60_000 }, async () => {
  const server = await startServer({ SEATLINE_QUEUE_CAPACITY: '1' });
  const browser = await launchBrowser();
  try {
    const f = await openPage(browser, server.url, DESKTOP);
    await join(f, 'frank');
    const four = await holdThroughPage(f, 4);

    // Another tab of Frank's holds seat 5 (so his turn goes on) and pays for seat 4.
    for (const [query, variables] of [
      ['mutation ($d: ID!) { holdSeat(concertDateId: $d, seatNumber: 5) { id } }', { d: four.seat.concertDateId }],
      ['mutation { chargeBalance(amount: 1000000) { amount } }', {}],
      ['mutation ($r: ID!) { pay(reservationId: $r) { id } }', { r: four.id }],
    ]) {
      assert.equal((await inOtherTab(f, query, variables)).errors, undefined);
    }

    await f.getByRole('button', { name: /^Pay / }).click();
    await onScreen(f, 'confirmation');
    assert.match(await f.locator('h1').textContent(), /Already paid/);
    assert.match(await f.locator('.success').textContent(), /Seat 4 is already paid for/);
    assert.equal(await f.locator('#countdown').count(), 0);
    // Seat 5 is still his to pay for: the page keeps his turn.
    assert.equal(await f.getByRole('button', { name: 'Done' }).count(), 0);
    await f.getByRole('button', { name: 'Back to concerts' }).click();
    await onScreen(f, 'concerts');

    assertClean(f);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('paying one of two holds keeps the turn until the other is paid', { timeout: 60_000 }, async () => {
  const server = await startServer({ SEATLINE_QUEUE_CAPACITY: '1' });
  const browser = await launchBrowser();
  try {
    const g = await openPage(browser, server.url, PHONE);
    await join(g, 'grace');
    const four = await holdThroughPage(g, 4);

    // Another tab of Grace's holds seat 6 and tops up.
    const six = await inOtherTab(g, 'mutation ($d: ID!) { holdSeat(concertDateId: $d, seatNumber: 6) { id } }', {
      d: four.seat.concertDateId,
    });
    assert.equal(six.errors, undefined);
    const charged = await inOtherTab(g, 'mutation { chargeBalance(amount: 1000000) { amount } }');
    assert.equal(charged.errors, undefined);

    await g.getByRole('button', { name: /^Pay / }).click();
    await onScreen(g, 'confirmation');
    assert.match(await g.locator('.success').textContent(), /Seat 4 is yours/);
    assert.match(await g.locator('[data-screen="confirmation"]').textContent(), /still hold another seat/);
    assert.equal(await g.getByRole('button', { name: 'Done' }).count(), 0);
    await screenshot(g, '11-confirmation-turn-goes-on');
    await g.getByRole('button', { name: 'Back to concerts' }).click();
    await onScreen(g, 'concerts');

    // Paying seat 6 finishes the ticket, and the page says so by itself.
    const paid = await inOtherTab(g, 'mutation ($r: ID!) { pay(reservationId: $r) { id } }', {
      r: six.data.holdSeat.id,
    });
    assert.equal(paid.errors, undefined);
    await onScreen(g, 'join');
    assert.match(await g.locator('[data-screen="join"]').textContent(), /turn in the sale is finished/);

    assertClean(g);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test('a payment refused for its rate is sent again once the wait is over', { timeout: 60_000 }, async () => {
  // One mutation a second per token, bursts of two.
  const server = await startServer({ SEATLINE_QUEUE_CAPACITY: '1', SEATLINE_RATE_LIMIT_PER_SEC: '1' });
  const browser = await launchBrowser();
  try {
    const r = await openPage(browser, server.url, DESKTOP);
    await join(r, 'rosa');
    await holdThroughPage(r, 3);
    const payAnswers = [];
    r.on('response', async (response) => {
      if (response.request().postData()?.includes('pay(')) payAnswers.push(await response.json());
    });

    // Another tab tops up until the token's budget is spent.
    let refused = false;
    for (let i = 0; i < 10 && !refused; i += 1) {
      const body = await inOtherTab(r, 'mutation { chargeBalance(amount: 1000000) { amount } }');
      refused = body.errors?.[0]?.extensions?.code === 'RATE_LIMITED';
    }
    assert.ok(refused, 'the top-ups spent the budget');

    await r.getByRole('button', { name: /^Pay / }).click();
    await onScreen(r, 'confirmation', 8_000);
    assert.match(await r.locator('.success').textContent(), /Seat 3 is yours/);
    await until(() => payAnswers.length >= 2);
    assert.equal(payAnswers[0].errors?.[0]?.extensions?.code, 'RATE_LIMITED', 'the first pay was refused');
    assert.equal(payAnswers.at(-1).errors, undefined);

    assertClean(r);
  } finally {
    await browser.close();
    await server.stop();
  }
});
