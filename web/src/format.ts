// Amounts are whole won (KRW has no minor unit); times are the viewer's.

const won = new Intl.NumberFormat('en', { style: 'currency', currency: 'KRW' });
const dateTime = new Intl.DateTimeFormat('en', {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const clock = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit' });

export const formatWon = (amount: number): string => won.format(amount);
export const formatDateTime = (iso: string): string => dateTime.format(new Date(iso));
export const formatClock = (iso: string): string => clock.format(new Date(iso));

/** `m:ss` for a countdown; never negative. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, '0')}`;
}

/** A rough, human estimate: "about 2 minutes", "less than a minute". */
export function formatWait(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return 'Estimating…';
  if (seconds < 60) return 'less than a minute';
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? 'about 1 minute' : `about ${minutes} minutes`;
}
