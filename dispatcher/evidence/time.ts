/**
 * ISO 8601 with the offset of a named time zone (`2026-11-27T11:52:25.000+08:00`): what evidence shows people.
 * Date#toISOString only gives UTC, and a local time without its offset is ambiguous in court.
 */
export function isoInZone(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const [y, mo, d, h, mi, s] = ['year', 'month', 'day', 'hour', 'minute', 'second'].map(get) as [number, number, number, number, number, number];
  const wholeMs = Math.floor(ms / 1000) * 1000;
  const offsetMin = Math.round((Date.UTC(y, mo - 1, d, h, mi, s) - wholeMs) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const frac = String(ms - wholeMs).padStart(3, '0');
  return `${y}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(s)}.${frac}${sign}${p2(Math.floor(abs / 60))}:${p2(abs % 60)}`;
}
