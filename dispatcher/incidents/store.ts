import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StreetwatchError } from '../../core/errors.js';
import type { Hit } from '../../rules/types.js';
import type { StatusRefusal } from '../sink/sink.js';
import { applyStatus, markDispatched, nextState, operatorClose, operatorReject, reopenForRedispatch } from './lifecycle.js';
import { decide, extendIncident, incidentFromHit, type MatchParams } from './match.js';
import { updateDue, type LostEvidence, type OwedEvidence } from './owed.js';
import { OPEN_STATES, type HitDecision, type Incident, type TicketStatus } from './types.js';

/**
 * The embedded store (SQLite in WAL mode, better-sqlite3): incidents, their tickets, the outbox the relay
 * publishes from, the squads' status reports and false-positive counts. Every incident change that makes a
 * ticket writes the ticket and its outbox row in the same transaction, so a crash leaves either both or
 * neither: the relay publishes whatever is unsent after a restart.
 *
 * better-sqlite3 is synchronous: each call is a short transaction on the event loop, far below a frame's
 * detection time, and it makes "read, decide, write" atomic without locks.
 */

export interface OutboxRow {
  seq: number;
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  createdMs: number;
  attempts: number;
}

export interface TicketRow {
  id: string;
  squad: string;
  createdMs: number;
  ticket: unknown;
}

export interface StatusReport {
  ticketId: string;
  status: TicketStatus;
  /** When the squad reported it, ms. */
  atMs: number;
  /** The reporting squad; must be the squad that holds the ticket. */
  squad: string;
}

export type StatusOutcome = 'applied' | 'duplicate' | StatusRefusal;

const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  state TEXT NOT NULL,
  camera_id TEXT NOT NULL,
  zone_id TEXT NOT NULL,
  site TEXT,
  subject TEXT NOT NULL,
  confirmed_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_place ON incidents (type, zone_id, camera_id, confirmed_ms);
CREATE INDEX IF NOT EXISTS incidents_site ON incidents (type, site, confirmed_ms) WHERE site IS NOT NULL;
CREATE INDEX IF NOT EXISTS incidents_subject ON incidents (subject, confirmed_ms);
CREATE INDEX IF NOT EXISTS incidents_state ON incidents (state, updated_ms);
CREATE TABLE IF NOT EXISTS tickets (
  id TEXT PRIMARY KEY REFERENCES incidents (id),
  squad TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  headers TEXT NOT NULL DEFAULT '{}',
  created_ms INTEGER NOT NULL,
  sent_ms INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_ms IS NULL;
CREATE TABLE IF NOT EXISTS status_reports (
  ticket_id TEXT NOT NULL,
  status TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  squad TEXT,
  received_ms INTEGER NOT NULL,
  PRIMARY KEY (ticket_id, status, at_ms)
);
CREATE INDEX IF NOT EXISTS incidents_updated ON incidents (updated_ms);
CREATE INDEX IF NOT EXISTS tickets_squad ON tickets (squad);
-- What happened to an incident besides squad reports (those are in status_reports): ticket issued and sent,
-- operator actions. Read by the console's history; additive, so it needs no schema version change.
CREATE TABLE IF NOT EXISTS incident_events (
  incident_id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  by TEXT,
  note TEXT
);
CREATE INDEX IF NOT EXISTS incident_events_incident ON incident_events (incident_id, at_ms);
-- Evidence packages owed (dispatcher/incidents/owed.ts): written in the transaction that makes them owed,
-- finished or marked lost after a restart. Additive, like incident_events.
CREATE TABLE IF NOT EXISTS evidence_owed (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  latest_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'owed',
  revision INTEGER,
  reason TEXT,
  done_ms INTEGER
);
CREATE INDEX IF NOT EXISTS evidence_owed_open ON evidence_owed (id) WHERE state = 'owed';
CREATE TABLE IF NOT EXISTS false_positives (
  detector TEXT NOT NULL,
  camera_id TEXT NOT NULL,
  zone_id TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (detector, camera_id, zone_id)
);
`;

/** Whose history a repeat offence is counted on: the shop for door_front, otherwise the place. */
function subjectOf(inc: Pick<Incident, 'type' | 'shop' | 'site' | 'cameraId' | 'zoneId'>): string {
  if (inc.type === 'door_front' && inc.shop) return `shop:${inc.shop.id}`;
  return inc.site ? `site:${inc.site}` : `zone:${inc.cameraId}/${inc.zoneId}`;
}

type Row = { data: string };

/** The open states as an SQL list (constants, never input). */
const OPEN_SQL = [...OPEN_STATES].map((st) => `'${st}'`).join(', ');

export interface IncidentQuery {
  types?: readonly string[];
  states?: readonly string[];
  cameras?: readonly string[];
  zones?: readonly string[];
  squads?: readonly string[];
  ids?: readonly string[];
  /** On confirmedMs: [fromMs, toMs). */
  fromMs?: number;
  toMs?: number;
  updatedSinceMs?: number;
  oldestFirst?: boolean;
  limit?: number;
}

export interface AnalyticsRow {
  type: string;
  cameraId: string;
  zoneId: string;
  subject: string;
  shopName?: string;
  confirmedMs: number;
}

export class IncidentStore {
  private db: Database.Database | undefined;

  constructor(
    private readonly file: string,
    private readonly newId: () => string,
  ) {}

  start(): void {
    if (this.db) return;
    try {
      if (this.file !== ':memory:') mkdirSync(dirname(this.file), { recursive: true });
      this.db = new Database(this.file);
      this.db.pragma('journal_mode = WAL');
      // WAL + NORMAL is durable against a process crash (SIGKILL); only a power cut may lose the last commits
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.db.exec(DDL);
    } catch (e) {
      this.db?.close();
      this.db = undefined;
      throw new StreetwatchError('STORE_FAILED', `cannot open the incident store ${this.file}: ${(e as Error).message}; check that the folder is writable and the file is a streetwatch SQLite database`, { cause: e });
    }
    const v = this.db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema'").get();
    if (!v) this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
    else if (Number(v.value) !== SCHEMA_VERSION) {
      throw new StreetwatchError('STORE_FAILED', `the incident store ${this.file} has schema ${v.value}, this streetwatch reads ${SCHEMA_VERSION}; use a new dataDir or migrate it`);
    }
  }

  stop(): void {
    this.db?.close();
    this.db = undefined;
  }

  private get conn(): Database.Database {
    if (!this.db) throw new StreetwatchError('STOPPED', 'the incident store is not started');
    return this.db;
  }

  private write(inc: Incident): void {
    this.conn
      .prepare(
        `INSERT INTO incidents (id, type, state, camera_id, zone_id, site, subject, confirmed_ms, updated_ms, data)
         VALUES (@id, @type, @state, @cameraId, @zoneId, @site, @subject, @confirmedMs, @updatedMs, @data)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms, data = excluded.data`,
      )
      .run({ id: inc.id, type: inc.type, state: inc.state, cameraId: inc.cameraId, zoneId: inc.zoneId, site: inc.site ?? null, subject: subjectOf(inc), confirmedMs: inc.confirmedMs, updatedMs: inc.updatedMs, data: JSON.stringify(inc) });
  }

  get(id: string): Incident | undefined {
    const r = this.conn.prepare<[string], Row>('SELECT data FROM incidents WHERE id = ?').get(id);
    return r ? (JSON.parse(r.data) as Incident) : undefined;
  }

  /** The latest incidents that could be at a hit's place (the matcher decides which one is). */
  private candidates(hit: Hit): Incident[] {
    const rows = hit.site !== undefined
      ? this.conn.prepare<[string, string], Row>('SELECT data FROM incidents WHERE type = ? AND site = ? ORDER BY confirmed_ms DESC LIMIT 50').all(hit.type, hit.site)
      : hit.position !== undefined
        ? this.conn.prepare<[string, string], Row>('SELECT data FROM incidents WHERE type = ? AND zone_id = ? ORDER BY confirmed_ms DESC LIMIT 200').all(hit.type, hit.zoneId)
        : this.conn.prepare<[string, string, string], Row>('SELECT data FROM incidents WHERE type = ? AND zone_id = ? AND camera_id = ? ORDER BY confirmed_ms DESC LIMIT 50').all(hit.type, hit.zoneId, hit.cameraId);
    return rows.map((r) => JSON.parse(r.data) as Incident);
  }

  /**
   * Records a hit: a new incident, an extended one, or nothing (suppressed), atomically — together with the
   * evidence it makes owed (a new incident: its full package; a later sighting, at most once per
   * `evidenceEveryMs`: an update), so a crash right after cannot forget that work.
   */
  recordHit(hit: Hit, params: MatchParams & { evidenceEveryMs?: number }, nowMs: number): { decision: HitDecision; incident?: Incident; previous?: Incident; owed?: OwedEvidence } {
    return this.conn.transaction(() => {
      const decision = decide(hit, this.candidates(hit), params);
      if (decision.kind === 'suppress') return { decision };
      if (decision.kind === 'create') {
        const incident = incidentFromHit(this.newId(), hit, nowMs, decision.recurrenceOf);
        this.write(incident);
        return { decision, incident, owed: this.owe(incident.id, 'full', incident.lastSeenMs, nowMs) };
      }
      const previous = this.get(decision.incidentId)!;
      const incident = extendIncident(previous, hit, nowMs);
      this.write(incident);
      const due = params.evidenceEveryMs !== undefined && updateDue(previous, incident, params.evidenceEveryMs);
      return { decision, incident, previous, ...(due && { owed: this.owe(incident.id, 'update', incident.lastSeenMs, nowMs) }) };
    }).immediate();
  }

  private owe(incidentId: string, kind: OwedEvidence['kind'], latestMs: number, nowMs: number): OwedEvidence {
    const r = this.conn.prepare('INSERT INTO evidence_owed (incident_id, kind, latest_ms, created_ms) VALUES (?, ?, ?, ?)').run(incidentId, kind, latestMs, nowMs);
    return { id: Number(r.lastInsertRowid), incidentId, kind, latestMs, createdMs: nowMs };
  }

  /** Evidence still owed, oldest first (after a restart: what to finish or mark lost). */
  owedEvidence(incidentId?: string): OwedEvidence[] {
    type R = { id: number; incident_id: string; kind: OwedEvidence['kind']; latest_ms: number; created_ms: number };
    const rows = incidentId === undefined
      ? this.conn.prepare<[], R>("SELECT id, incident_id, kind, latest_ms, created_ms FROM evidence_owed WHERE state = 'owed' ORDER BY id").all()
      : this.conn.prepare<[string], R>("SELECT id, incident_id, kind, latest_ms, created_ms FROM evidence_owed WHERE state = 'owed' AND incident_id = ? ORDER BY id").all(incidentId);
    return rows.map((r) => ({ id: r.id, incidentId: r.incident_id, kind: r.kind, latestMs: r.latest_ms, createdMs: r.created_ms }));
  }

  /** The owed package was sealed as `revision`. */
  evidenceDone(owedId: number, revision: number, nowMs: number): void {
    this.conn.prepare("UPDATE evidence_owed SET state = 'done', revision = ?, done_ms = ? WHERE id = ? AND state = 'owed'").run(revision, nowMs, owedId);
  }

  /**
   * The owed package cannot be made: recorded on the row, on the incident (the console shows it) and in its
   * history, in one transaction. `revision` is the signed lost-marker's, when one could be sealed.
   */
  evidenceLost(owed: OwedEvidence, reason: string, nowMs: number, revision?: number): void {
    this.conn.transaction(() => {
      const r = this.conn.prepare("UPDATE evidence_owed SET state = 'lost', reason = ?, revision = ?, done_ms = ? WHERE id = ? AND state = 'owed'").run(reason.slice(0, 1000), revision ?? null, nowMs, owed.id);
      if (r.changes === 0) return;
      const inc = this.get(owed.incidentId);
      if (!inc) return;
      const lost: LostEvidence = { kind: owed.kind, reason, atMs: nowMs, ...(revision !== undefined && { revision }) };
      this.write({ ...inc, evidenceLost: [...(inc.evidenceLost ?? []), lost], updatedMs: Math.max(nowMs, inc.updatedMs) });
      this.recordEvent(inc.id, 'evidence_lost', nowMs, 'streetwatch', `${owed.kind === 'full' ? 'full-resolution package' : 'update'}: ${reason}`);
    })();
  }

  /**
   * Per camera, the earliest moment evidence still owed may need from its ring: a full package starts at the
   * incident's first sighting, an update at its latest one (the clip margin is the ring's business).
   */
  owedEvidenceFromByCamera(): Map<string, number> {
    type R = { camera: string; from_ms: number };
    const rows = this.conn
      .prepare<[], R>(
        `SELECT i.camera_id AS camera, MIN(CASE WHEN o.kind = 'full' THEN MIN(json_extract(i.data, '$.firstSeenMs'), o.latest_ms) ELSE o.latest_ms END) AS from_ms
         FROM evidence_owed o JOIN incidents i ON i.id = o.incident_id WHERE o.state = 'owed' GROUP BY i.camera_id`,
      )
      .all();
    return new Map(rows.map((r) => [r.camera, r.from_ms]));
  }

  /** How many packages are owed now (a gauge). */
  owedCount(): number {
    return this.conn.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM evidence_owed WHERE state = 'owed'").get()?.n ?? 0;
  }

  /** Incidents confirmed but without a ticket yet: after a crash between the two, these are redone. */
  withoutTicket(): Incident[] {
    return this.conn
      .prepare<[], Row>("SELECT i.data FROM incidents i LEFT JOIN tickets t ON t.id = i.id WHERE t.id IS NULL AND i.state = 'confirmed' ORDER BY i.confirmed_ms")
      .all()
      .map((r) => JSON.parse(r.data) as Incident);
  }

  /** The ticket and its outbox row, in one transaction (idempotent: a ticket is written once per incident). */
  addTicket(t: { incidentId: string; squad: string; ticket: unknown; topic: string; headers?: Record<string, string> }, nowMs: number): boolean {
    return this.conn.transaction(() => {
      const value = JSON.stringify(t.ticket);
      const r = this.conn.prepare('INSERT OR IGNORE INTO tickets (id, squad, created_ms, json) VALUES (?, ?, ?, ?)').run(t.incidentId, t.squad, nowMs, value);
      if (r.changes === 0) return false;
      this.conn.prepare('INSERT INTO outbox (topic, key, value, headers, created_ms) VALUES (?, ?, ?, ?, ?)').run(t.topic, t.squad, value, JSON.stringify({ 'ticket-id': t.incidentId, ...t.headers }), nowMs);
      this.recordEvent(t.incidentId, 'ticket_issued', nowMs, t.squad);
      // the console's change feed shows the squad as soon as the ticket exists
      this.touch(t.incidentId, nowMs);
      return true;
    }).immediate();
  }

  ticket(id: string): TicketRow | undefined {
    const r = this.conn.prepare<[string], { id: string; squad: string; created_ms: number; json: string }>('SELECT * FROM tickets WHERE id = ?').get(id);
    return r ? { id: r.id, squad: r.squad, createdMs: r.created_ms, ticket: JSON.parse(r.json) } : undefined;
  }

  unsent(limit = 100): OutboxRow[] {
    return this.conn
      .prepare<[number], { seq: number; topic: string; key: string; value: string; headers: string; created_ms: number; attempts: number }>('SELECT seq, topic, key, value, headers, created_ms, attempts FROM outbox WHERE sent_ms IS NULL ORDER BY seq LIMIT ?')
      .all(limit)
      .map((r) => ({ seq: r.seq, topic: r.topic, key: r.key, value: r.value, headers: JSON.parse(r.headers) as Record<string, string>, createdMs: r.created_ms, attempts: r.attempts }));
  }

  /** After the broker acknowledged: rows sent, their incidents dispatched. */
  markSent(rows: readonly OutboxRow[], nowMs: number): void {
    this.conn.transaction(() => {
      for (const r of rows) {
        this.conn.prepare('UPDATE outbox SET sent_ms = ?, attempts = attempts + 1, last_error = NULL WHERE seq = ?').run(nowMs, r.seq);
        // status reports the console publishes for squads go through this outbox too: they dispatch nothing
        if (r.headers.kind === 'ticket-status') continue;
        const id = r.headers['ticket-id'];
        const inc = id ? this.get(id) : undefined;
        if (inc) {
          this.write(markDispatched(inc, nowMs));
          this.recordEvent(inc.id, 'ticket_sent', nowMs, r.key);
        }
      }
    })();
  }

  markFailed(rows: readonly OutboxRow[], error: string): void {
    const st = this.conn.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?');
    this.conn.transaction(() => rows.forEach((r) => st.run(error.slice(0, 500), r.seq)))();
  }

  /**
   * A squad's report, checked for who may send it before anything is written: only the squad that holds the
   * ticket (the ticket row's squad — it changes with a re-dispatch) may report on it, and only forward. A
   * refused report leaves no trace here (the caller dead-letters it or answers 4xx), so the history and the
   * answer always agree. Idempotent: the same report again is 'duplicate' and changes nothing.
   */
  applyStatus(s: StatusReport, nowMs: number): StatusOutcome {
    return this.conn.transaction((): StatusOutcome => {
      const inc = this.get(s.ticketId);
      const ticket = this.conn.prepare<[string], { squad: string }>('SELECT squad FROM tickets WHERE id = ?').get(s.ticketId);
      if (!inc || !ticket) return { refused: 'unknown_ticket', reason: `no ticket ${s.ticketId} was issued by this streetwatch` };
      if (ticket.squad !== s.squad) return { refused: 'not_ticket_holder', reason: `ticket ${s.ticketId} is held by another squad, not by '${s.squad}'` };
      const seen = this.conn.prepare('SELECT 1 FROM status_reports WHERE ticket_id = ? AND status = ? AND at_ms = ?').get(s.ticketId, s.status, s.atMs);
      if (seen) return 'duplicate';
      if (!nextState(inc.state, s.status)) return { refused: 'not_forward', reason: `ticket ${s.ticketId} is ${inc.state}; '${s.status}' would not move it forward` };
      const next = applyStatus(inc, s.status, s.atMs, nowMs)!;
      this.conn.prepare('INSERT INTO status_reports (ticket_id, status, at_ms, squad, received_ms) VALUES (?, ?, ?, ?, ?)').run(s.ticketId, s.status, s.atMs, s.squad, nowMs);
      const closing = next.state === 'resolved' || next.state === 'rejected';
      this.write(closing ? { ...next, resolution: { status: s.status === 'resolved' ? 'resolved' : 'rejected_false_positive', by: `squad:${s.squad}`, atMs: s.atMs } } : next);
      if (next.state === 'rejected') this.countFalsePositive(inc);
      return 'applied';
    }).immediate();
  }

  /** Earlier incidents of the same subject confirmed since `sinceMs`, false positives excluded. */
  priorOffences(inc: Incident, sinceMs: number): number {
    const r = this.conn
      .prepare<[string, number, string], { n: number }>("SELECT COUNT(*) AS n FROM incidents WHERE subject = ? AND confirmed_ms >= ? AND id != ? AND state != 'rejected'")
      .get(subjectOf(inc), sinceMs, inc.id);
    return r?.n ?? 0;
  }

  falsePositives(): { detector: string; cameraId: string; zoneId: string; count: number }[] {
    return this.conn
      .prepare<[], { detector: string; camera_id: string; zone_id: string; count: number }>('SELECT * FROM false_positives ORDER BY count DESC')
      .all()
      .map((r) => ({ detector: r.detector, cameraId: r.camera_id, zoneId: r.zone_id, count: r.count }));
  }

  private countFalsePositive(inc: Incident): void {
    const up = this.conn.prepare('INSERT INTO false_positives (detector, camera_id, zone_id, count) VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1');
    for (const d of inc.detectors) up.run(d, inc.cameraId, inc.zoneId);
  }

  recordEvent(incidentId: string, kind: string, atMs: number, by?: string, note?: string): void {
    this.conn.prepare('INSERT INTO incident_events (incident_id, at_ms, kind, by, note) VALUES (?, ?, ?, ?, ?)').run(incidentId, atMs, kind, by ?? null, note ?? null);
  }

  /** Marks an incident changed (new evidence, a ticket) so the console's change feed sends it again. */
  touch(id: string, nowMs: number): void {
    const inc = this.get(id);
    if (inc) this.write({ ...inc, updatedMs: Math.max(nowMs, inc.updatedMs) });
  }

  /**
   * An operator's action from the console, with who did it, in one transaction. 'not_found' for an unknown
   * id, 'no_change' when the incident's state does not allow it.
   */
  operatorAction(id: string, action: 'false_positive' | 'close', by: string, note: string | undefined, nowMs: number): Incident | 'not_found' | 'no_change' {
    return this.conn.transaction(() => {
      const inc = this.get(id);
      if (!inc) return 'not_found' as const;
      const next = action === 'false_positive' ? operatorReject(inc, by, note, nowMs) : operatorClose(inc, by, note, nowMs);
      if (!next) return 'no_change' as const;
      this.write(next);
      if (action === 'false_positive') this.countFalsePositive(inc);
      this.recordEvent(id, action === 'false_positive' ? 'false_positive' : 'closed', nowMs, by, note);
      return next;
    }).immediate();
  }

  /**
   * Re-issues an incident's ticket (same ticket id, new issue time, maybe another squad): the ticket row is
   * replaced, a new outbox row written and the incident reopened, in one transaction.
   */
  redispatch(id: string, t: { squad: string; ticket: unknown; topic: string; headers?: Record<string, string> }, by: string, note: string | undefined, nowMs: number): Incident | 'not_found' {
    return this.conn.transaction(() => {
      const inc = this.get(id);
      if (!inc) return 'not_found' as const;
      const next = reopenForRedispatch(inc, nowMs);
      const value = JSON.stringify(t.ticket);
      this.conn.prepare('INSERT INTO tickets (id, squad, created_ms, json) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET squad = excluded.squad, json = excluded.json').run(id, t.squad, nowMs, value);
      this.conn
        .prepare('INSERT INTO outbox (topic, key, value, headers, created_ms) VALUES (?, ?, ?, ?, ?)')
        .run(t.topic, t.squad, value, JSON.stringify({ 'ticket-id': id, redispatch: String(next.redispatches), ...t.headers }), nowMs);
      this.write(next);
      this.recordEvent(id, 'redispatched', nowMs, by, note ?? `→ ${t.squad}`);
      return next;
    }).immediate();
  }

  /** A message for the relay to publish that is not a ticket (a squad's status sent from the console). */
  enqueueMessage(m: { topic: string; key: string; value: string; headers: Record<string, string> }, nowMs: number): void {
    this.conn.prepare('INSERT INTO outbox (topic, key, value, headers, created_ms) VALUES (?, ?, ?, ?, ?)').run(m.topic, m.key, m.value, JSON.stringify(m.headers), nowMs);
  }

  /** Everything that happened to an incident, oldest first: events, and the squads' reports. */
  history(id: string): { atMs: number; kind: string; by?: string; note?: string }[] {
    const rows = this.conn
      .prepare<[string, string], { at_ms: number; kind: string; by: string | null; note: string | null }>(
        `SELECT at_ms, kind, by, note FROM incident_events WHERE incident_id = ?
         UNION ALL SELECT at_ms, status AS kind, CASE WHEN squad IS NULL THEN NULL ELSE 'squad:' || squad END AS by, NULL AS note FROM status_reports WHERE ticket_id = ?
         ORDER BY at_ms`,
      )
      .all(id, id);
    return rows.map((r) => ({ atMs: r.at_ms, kind: r.kind, ...(r.by !== null ? { by: r.by } : {}), ...(r.note !== null ? { note: r.note } : {}) }));
  }

  /**
   * Incidents by the console's filters, newest change first, each with its ticket and the ticket's squad (an
   * incident without a ticket has neither).
   */
  search(q: IncidentQuery): { incident: Incident; squad?: string; ticket?: unknown }[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const inList = (col: string, values: readonly string[] | undefined) => {
      if (!values?.length) return;
      where.push(`${col} IN (${values.map(() => '?').join(', ')})`);
      args.push(...values);
    };
    inList('i.type', q.types);
    inList('i.state', q.states);
    inList('i.camera_id', q.cameras);
    inList('i.zone_id', q.zones);
    inList('t.squad', q.squads);
    if (q.fromMs !== undefined) (where.push('i.confirmed_ms >= ?'), args.push(q.fromMs));
    if (q.toMs !== undefined) (where.push('i.confirmed_ms < ?'), args.push(q.toMs));
    if (q.updatedSinceMs !== undefined) (where.push('i.updated_ms >= ?'), args.push(q.updatedSinceMs));
    if (q.ids?.length) inList('i.id', q.ids);
    const sql = `SELECT i.data, t.squad, t.json FROM incidents i LEFT JOIN tickets t ON t.id = i.id ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY i.updated_ms ${q.oldestFirst ? 'ASC' : 'DESC'} LIMIT ?`;
    return this.conn
      .prepare<unknown[], { data: string; squad: string | null; json: string | null }>(sql)
      .all(...args, q.limit ?? 100)
      .map((r) => ({ incident: JSON.parse(r.data) as Incident, ...(r.squad !== null ? { squad: r.squad } : {}), ...(r.json !== null ? { ticket: JSON.parse(r.json) as unknown } : {}) }));
  }

  /**
   * Per detector, camera and zone: incidents a squad confirmed (accepted, on site, resolved, or closed by an
   * operator), false positives (a squad's rejection or an operator's mark), and those still waiting.
   */
  scoreboard(fromMs: number, toMs: number): { detector: string; cameraId: string; zoneId: string; confirmed: number; falsePositive: number; pending: number }[] {
    return this.conn
      .prepare<[number, number], { detector: string; camera_id: string; zone_id: string; confirmed: number; fp: number; pending: number }>(
        `SELECT d.value AS detector, i.camera_id, i.zone_id,
           SUM(i.state IN ('acknowledged', 'on_site', 'resolved')) AS confirmed, SUM(i.state = 'rejected') AS fp, SUM(i.state IN ('confirmed', 'dispatched')) AS pending
         FROM incidents i, json_each(i.data, '$.detectors') d
         WHERE i.confirmed_ms >= ? AND i.confirmed_ms < ?
         GROUP BY d.value, i.camera_id, i.zone_id ORDER BY d.value, i.camera_id, i.zone_id`,
      )
      .all(fromMs, toMs)
      .map((r) => ({ detector: r.detector, cameraId: r.camera_id, zoneId: r.zone_id, confirmed: r.confirmed, falsePositive: r.fp, pending: r.pending }));
  }

  /** The columns analytics groups by, for incidents confirmed in [from, to); false positives excluded. */
  analyticsRows(fromMs: number, toMs: number, type?: string): AnalyticsRow[] {
    return this.conn
      .prepare<unknown[], { type: string; camera_id: string; zone_id: string; subject: string; shop: string | null; confirmed_ms: number }>(
        `SELECT type, camera_id, zone_id, subject, json_extract(data, '$.shop.name') AS shop, confirmed_ms FROM incidents
         WHERE confirmed_ms >= ? AND confirmed_ms < ? AND state != 'rejected' ${type ? 'AND type = ?' : ''}`,
      )
      .all(fromMs, toMs, ...(type ? [type] : []))
      .map((r) => ({ type: r.type, cameraId: r.camera_id, zoneId: r.zone_id, subject: r.subject, ...(r.shop !== null ? { shopName: r.shop } : {}), confirmedMs: r.confirmed_ms }));
  }

  /** Open incidents per camera (the camera wall and the plan view). */
  openByCamera(): Map<string, { open: number; total: number }> {
    const rows = this.conn
      .prepare<[], { camera_id: string; open: number; total: number }>(`SELECT camera_id, SUM(state IN (${OPEN_SQL})) AS open, COUNT(*) AS total FROM incidents GROUP BY camera_id`)
      .all();
    return new Map(rows.map((r) => [r.camera_id, { open: r.open, total: r.total }]));
  }

  list(opts: { states?: readonly string[]; limit?: number } = {}): Incident[] {
    const states = opts.states ?? [];
    const where = states.length ? `WHERE state IN (${states.map(() => '?').join(', ')})` : '';
    return this.conn
      .prepare<unknown[], Row>(`SELECT data FROM incidents ${where} ORDER BY updated_ms DESC LIMIT ?`)
      .all(...states, opts.limit ?? 100)
      .map((r) => JSON.parse(r.data) as Incident);
  }
}
