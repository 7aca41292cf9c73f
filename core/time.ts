/**
 * ISO 8601 with the local offset of an IANA time zone ("2026-11-27T11:52:22.000+08:00"). Tickets and evidence
 * carry local times because people read them as wall-clock times; the offset keeps them unambiguous for
 * machines (and in court: a local time without its offset is ambiguous).
 */
export function isoInZone(ms: number, timeZone: string): string {
  if (!Number.isFinite(ms)) throw new RangeError(`not a time: ${ms}`);
  const whole = Math.floor(ms / 1000) * 1000;
  const parts = formatterFor(timeZone).formatToParts(new Date(whole));
  const get = (t: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === t)?.value);
  const localAsUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  // Offsets are whole minutes in every zone in use since 1972; rounding absorbs nothing else.
  const offsetMin = Math.round((localAsUtc - whole) / 60_000);
  const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Building a DateTimeFormat costs far more than using one: one per time zone, kept (a site has one or two). */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * Local ISO weekday (1 = Monday … 7 = Sunday) and minutes since midnight of `tMs` in `timeZone`. On the
 * per-frame path (rules' active hours), so it uses the cached formatter: building one per call cost ~0.5 ms.
 */
export function localTime(tMs: number, timeZone: string): { weekday: number; minutes: number } {
  const parts = formatterFor(timeZone).formatToParts(new Date(tMs));
  const get = (t: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === t)?.value ?? '';
  return { weekday: WEEKDAYS.indexOf(get('weekday')) + 1, minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}
