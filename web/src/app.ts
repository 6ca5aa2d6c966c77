// Shared state, screen switching and the header. Screens live in
// src/screens/; the queue subscription that moves between them lives in
// src/session.ts.

import { request } from './api';
import { h } from './dom';
import { formatClock, formatWon } from './format';
import type { TicketFieldsFragment } from './gql/graphql';
import { Balance } from './operations';

export type Ticket = TicketFieldsFragment;

export interface Session {
  userId: string;
  token: string;
}

export type ScreenName =
  | 'connecting'
  | 'join'
  | 'waiting'
  | 'concerts'
  | 'dates'
  | 'seats'
  | 'hold'
  | 'confirmation';

/** One screen: its root element, its title, and what to stop on leaving. */
export interface View {
  name: ScreenName;
  title: string;
  el: HTMLElement;
  dispose?: () => void;
}

export const state: {
  session: Session | null;
  /** Prefills the join screen, also after the session has finished. */
  lastUserId: string;
  ticket: Ticket | null;
  balance: number | null;
  current: View | null;
} = { session: null, lastUserId: '', ticket: null, balance: null, current: null };

const STORAGE_KEY = 'seatline.session';

/** The tab keeps its ticket across a reload (not across tabs or restarts). */
export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    if (
      parsed &&
      typeof parsed === 'object' &&
      typeof (parsed as Session).userId === 'string' &&
      typeof (parsed as Session).token === 'string'
    ) {
      return parsed as Session;
    }
  } catch {
    // Storage blocked or corrupt: start from the join screen.
  }
  return null;
}

export function saveSession(session: Session | null): void {
  try {
    if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage blocked: the session simply does not survive a reload.
  }
}

const main = (): HTMLElement => document.getElementById('app') as HTMLElement;

/**
 * Replaces the screen and moves keyboard and screen-reader focus to its
 * heading, so a change of screen is announced like a page load.
 */
export function show(view: View): void {
  state.current?.dispose?.();
  state.current = view;
  main().replaceChildren(view.el);
  document.title = `${view.title} · Seatline`;
  const heading = view.el.querySelector<HTMLElement>('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
  renderHeader();
}

export function currentScreen(): ScreenName | null {
  return state.current?.name ?? null;
}

/** A screen's heading and, optionally, a notice carried over from the last one. */
export function screenHeading(title: string, notice?: string): HTMLElement[] {
  const nodes: HTMLElement[] = [h('h1', {}, title)];
  if (notice) nodes.push(h('p', { class: 'notice', role: 'status' }, notice));
  return nodes;
}

export function renderHeader(): void {
  const account = document.getElementById('account');
  if (!account) return;
  const { session, ticket, balance } = state;
  const admitted = ticket?.status === 'PROGRESS';
  if (!session || !admitted) {
    account.replaceChildren();
    return;
  }
  const parts: HTMLElement[] = [
    h('span', { class: 'who' }, session.userId),
    h('span', { id: 'balance' }, 'Balance ', h('strong', {}, balance === null ? '…' : formatWon(balance))),
  ];
  if (ticket.expiresAt) {
    parts.push(h('span', { class: 'until' }, `Your turn ends ${formatClock(ticket.expiresAt)}`));
  }
  account.replaceChildren(...parts);
}

export async function refreshBalance(): Promise<number> {
  const token = state.session?.token;
  const data = await request(Balance, {}, token);
  state.balance = data.balance.amount;
  renderHeader();
  return state.balance;
}

export function setBalance(amount: number): void {
  state.balance = amount;
  renderHeader();
}
