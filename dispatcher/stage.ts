import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveCamera, type Config } from '../config/schema.js';
import { resolveConfigPath } from '../core/assets.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { once, type Service } from '../core/lifecycle.js';
import { retry } from '../core/retry.js';
import type { Hit } from '../rules/types.js';
import { createKeyFiles, loadKeyFiles, PRIVATE_KEY_FILE, type EvidenceKeys } from './evidence/keys.js';
import { applyRetention } from './evidence/retention.js';
import { EvidencePackager, SNAPSHOT_FILE, type EvidencePackage, type EvidenceRequest } from './evidence/packager.js';
import { IncidentStore } from './incidents/store.js';
import { dispatchPaths } from './paths.js';
import { SEEN_BY_SQUAD, type Incident } from './incidents/types.js';
import type { OwedEvidence } from './incidents/owed.js';
import { locateInRing } from './evidence/media.js';
import { isStreetwatchError, toStreetwatchError } from '../core/errors.js';
import { isoInZone } from '../core/time.js';
import { OutboxRelay, type RelayOptions } from './outbox/relay.js';
import type { StatusSource, TicketSink } from './sink/sink.js';
import { buildTicket, ticketContext } from './ticket/build.js';
import { ticketMessage } from './sink/messages.js';
import { ringDir, segmentFiles } from '../pipeline/ring.js';

/**
 * The dispatch stage: hits → incidents (store) → evidence package → ticket + outbox row (one transaction) →
 * relay → sink; squads' status reports → incident lifecycle. `onHit` decides synchronously (a short SQLite
 * transaction) so the rules never wait; packaging evidence (ffmpeg, sharp) runs behind it, one incident at a
 * time. After a crash, incidents confirmed without a ticket are packaged and ticketed again at start, and the
 * relay publishes whatever the outbox still holds.
 *
 * Without `dispatch` in the config there is no routing, so incidents and evidence are kept but no ticket is
 * made; without a sink (no brokers) tickets stay in the store's outbox, where the console reads them.
 */
export interface DispatchStageOptions {
  config: Config;
  /** The config file's folder (relative paths). */
  baseDir: string;
  log: Logger;
  sink?: TicketSink;
  status?: StatusSource;
  now?: () => number;
  /** Detector id → version and numeric options (thresholds), for evidence meta. */
  detectorInfo?: (id: string) => { version: string; thresholds?: Record<string, number> } | undefined;
  onTicket?: (incident: Incident, ticketId: string) => void;
  metrics?: Metrics;
  /** How often owed packages a retriable failure kept owed are tried again (default 60 s; tests). */
  owedRetryMs?: number;
  /** Passed to the outbox relay: after each acknowledged batch, its rows and the ms from their creation to the ack (benchmarks). */
  onSent?: RelayOptions['onSent'];
}

const YEAR_MS = 365 * 24 * 3600 * 1000;
const RETENTION_EVERY_MS = 3600 * 1000;
/** An open incident seen again gets a new evidence revision (latest still + clip) at most this often. */
const EVIDENCE_UPDATE_MS = 60_000;
/** Owed packages kept owed by a retriable failure (a full or read-only disk) are tried again this often. */
const OWED_RETRY_MS = 60_000;
/** Revision numbers: 1 the instant package the ticket carries (or, after a restart, the full one), 2 the full package after it, 3… updates. */
const FULL_REVISION = 2;

export class DispatchStage implements Service {
  readonly store: IncidentStore;
  private readonly packager: EvidencePackager;
  private readonly relay: OutboxRelay | undefined;
  private readonly now: () => number;
  private config: Config;
  private queue: Promise<void> = Promise.resolve();
  private fullQueue: Promise<void> = Promise.resolve();
  private packaging = 0;
  private transport: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private readonly keys: EvidenceKeys;
  /** Where the evidence packages are (the console serves them from here). */
  readonly evidenceRoot: string;
  private retentionTimer: NodeJS.Timeout | undefined;
  private owedTimer: NodeJS.Timeout | undefined;
  /** Owed rows with work queued or running (a count: the dispatch and packaging queues may both hold one). */
  private readonly busy = new Map<number, number>();
  private retiring: Promise<void> = Promise.resolve();
  private pending = 0;
  /** Counts for metrics and tests. */
  readonly counts = { created: 0, extended: 0, suppressed: 0, tickets: 0, evidenceFailed: 0, evidenceLost: 0 };

  constructor(private readonly o: DispatchStageOptions) {
    this.config = o.config;
    this.now = o.now ?? Date.now;
    const { storeFile, evidenceRoot, keysDir } = dispatchPaths(o.config, o.baseDir);
    if (!existsSync(join(keysDir, PRIVATE_KEY_FILE))) {
      const made = createKeyFiles(keysDir);
      o.log.warn({ keyId: made.keyId, publicKey: made.publicPath }, 'evidence: no signing key yet, made a new Ed25519 key pair; keep it (packages signed with it need it to verify)');
    }
    this.store = new IncidentStore(storeFile, randomUUID);
    this.keys = loadKeyFiles(keysDir);
    this.evidenceRoot = evidenceRoot;
    this.packager = new EvidencePackager({
      root: this.evidenceRoot,
      keys: this.keys,
      log: o.log,
      clipBeforeSec: o.config.evidence.clipBeforeSec,
      clipAfterSec: o.config.evidence.clipAfterSec,
      timezone: o.config.site.timezone,
      now: this.now,
      ...(o.metrics && { metrics: o.metrics }),
    });
    const onSent: RelayOptions['onSent'] = (rows, latencyMs) => {
      o.metrics?.ticketsSent.inc(rows.length);
      for (const ms of latencyMs) o.metrics?.dispatchLatency.observe(ms / 1000);
      o.onSent?.(rows, latencyMs);
    };
    if (o.sink) this.relay = new OutboxRelay({ store: this.store, sink: o.sink, log: o.log, now: this.now, onSent });
  }

  async start(): Promise<void> {
    this.store.start();
    await this.packager.start();
    // A refusal (not the ticket's squad, unknown ticket, backwards) is returned to the source: it dead-letters it.
    this.o.status?.onMessage(async (s) => {
      const r = this.store.applyStatus({ ticketId: s.ticketId, status: s.status, atMs: Date.parse(s.at), squad: s.squad }, this.now());
      return typeof r === 'object' ? r : undefined;
    });
    // The brokers may be down when we start: the cameras and incidents must not wait for them. The transport
    // connects in the background, retrying; tickets wait in the outbox meanwhile.
    this.transport = this.connect();
    // a crash between the incident and its ticket: finish those now, with the full package they are owed
    for (const inc of this.store.withoutTicket()) this.enqueue(inc, undefined, this.store.owedEvidence(inc.id).find((o) => o.kind === 'full'));
    // evidence owed when the process stopped (those not on their way already): finished while the ring holds
    // their moments, else marked lost; and again every minute, for packages a full disk kept owed
    this.sweepOwed();
    this.owedTimer = setInterval(() => this.sweepOwed(), this.o.owedRetryMs ?? OWED_RETRY_MS);
    this.owedTimer.unref();
    void this.retire();
    this.retentionTimer = setInterval(() => void this.retire(), RETENTION_EVERY_MS);
    this.retentionTimer.unref();
  }

  /** Evidence retention (age and quota); evidence of an incident no squad has acknowledged is never deleted. */
  async retire(): Promise<void> {
    const { retentionDays, quotaGb } = this.config.evidence;
    try {
      await (this.retiring = this.retiring.then(() =>
        applyRetention({
          root: this.evidenceRoot,
          keys: this.keys,
          policy: { retentionDays, quotaBytes: quotaGb * 1e9 },
          isAcknowledged: (id) => SEEN_BY_SQUAD.has(this.store.get(id)?.state ?? 'confirmed'),
          log: this.o.log,
          nowMs: this.now(),
        }).then(() => undefined),
      ));
    } catch (e) {
      this.o.log.error({ err: e }, 'evidence retention failed; nothing was deleted after the failure');
    }
  }

  private async connect(): Promise<void> {
    const { sink, status, log } = this.o;
    const attempt = (what: string, fn: () => Promise<void>) =>
      retry(fn, {
        attempts: Infinity,
        signal: this.abort.signal,
        maxMs: 30_000,
        onRetry: (e, n, delayMs) => log.warn({ err: (e as Error).message, attempt: n + 1, retryInMs: delayMs }, `dispatch: ${what} cannot connect yet; retrying`),
      });
    try {
      if (sink) {
        await attempt('the ticket sink', () => sink.start());
        await this.relay?.start();
      }
      if (status) await attempt('the ticket-status source', () => status.start());
    } catch (e) {
      if (!this.abort.signal.aborted) log.error({ err: e }, 'dispatch: the transport failed to start');
    }
  }

  /** Resolves when the transport is connected (or gave up); tests and benchmarks wait on it. */
  async connected(): Promise<void> {
    await this.transport;
  }

  /** The evidence signing key's public half (the console verifies packages with it). */
  get publicKeyPem(): string {
    return this.keys.publicKeyPem;
  }

  /**
   * From when a camera's ring must keep video for evidence still owed (pipeline/ring.ts pins it): the cameras'
   * rings ask every few seconds each, so the answer is read from the store at most once a second.
   */
  owedEvidenceFromMs(cameraId: string): number | undefined {
    const now = Date.now();
    if (!this.owedFrom || now - this.owedFrom.at > 1000) this.owedFrom = { at: now, byCamera: this.store.owedEvidenceFromByCamera() };
    return this.owedFrom.byCamera.get(cameraId);
  }

  private owedFrom: { at: number; byCamera: Map<string, number> } | undefined;

  /** Rows were written to the outbox by someone else (the console): publish them now. */
  wakeRelay(): void {
    this.relay?.wake();
  }

  /** A new config (hot reload): routing, zones and cameras for tickets made from now on. */
  apply(config: Config): void {
    this.config = config;
  }

  onHit(hit: Hit): void {
    if (hit.shadow) return; // shadow detectors are evaluated, never dispatched
    const { cooldownMinutes, sameSpotMeters } = this.config.incidents;
    // the evidence a hit makes owed is recorded in the same transaction as the incident change
    const { decision, incident, owed } = this.store.recordHit(hit, { cooldownMs: cooldownMinutes * 60_000, sameSpotMeters, evidenceEveryMs: EVIDENCE_UPDATE_MS }, this.now());
    this.o.metrics?.incidents.inc({ type: hit.type, decision: decision.kind === 'create' ? 'created' : decision.kind === 'extend' ? 'extended' : 'suppressed' });
    if (decision.kind === 'suppress') {
      this.counts.suppressed++;
      return;
    }
    if (decision.kind === 'extend') {
      this.counts.extended++;
      if (owed) this.enqueueUpdate(incident!, owed);
      return;
    }
    this.counts.created++;
    this.o.log.info({ incident: incident!.id, type: hit.type, camera: hit.cameraId, zone: hit.zoneId, recurrenceOf: decision.recurrenceOf }, `incident: new ${hit.type}`);
    this.enqueue(incident!, hit.snapshot, owed);
  }

  /** Resolves when every incident handed over so far has its ticket and its full evidence (tests, eval, shutdown). */
  async idle(): Promise<void> {
    while (this.pending > 0 || this.packaging > 0) await Promise.all([this.queue, this.fullQueue]);
  }

  private enqueue(inc: Incident, snapshot?: Hit['snapshot'], owed?: OwedEvidence): void {
    this.pending++;
    const release = this.hold(owed);
    this.queue = this.queue
      .then(() => this.dispatch(inc, snapshot, owed))
      .catch((e: unknown) => this.o.log.error({ err: e, incident: inc.id }, 'dispatch: could not ticket an incident; it is retried at the next start'))
      .finally(() => {
        this.pending--;
        release();
      });
  }

  /** Runs evidence work on the packaging queue (one at a time, so an incident's revisions stay in order). */
  private enqueuePackaging(job: () => Promise<void>, owed?: OwedEvidence): void {
    this.packaging++;
    const release = this.hold(owed);
    this.fullQueue = this.fullQueue
      .then(job)
      // one failed job must not stop the queue behind it (a rejected chain would skip every later job)
      .catch((e: unknown) => this.o.log.error({ err: e }, 'evidence: a packaging job failed unexpectedly'))
      .finally(() => {
        this.packaging--;
        release();
      });
  }

  /** Marks an owed row as having work on its way, so a sweep does not queue it twice; returns the release. */
  private hold(owed: OwedEvidence | undefined): () => void {
    if (!owed) return () => undefined;
    this.busy.set(owed.id, (this.busy.get(owed.id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.busy.get(owed.id) ?? 1) - 1;
      if (n > 0) this.busy.set(owed.id, n);
      else this.busy.delete(owed.id);
    };
  }

  /** Queues every owed package that has no work on its way (at start, then every OWED_RETRY_MS). */
  private sweepOwed(): void {
    if (this.abort.signal.aborted) return;
    for (const owed of this.store.owedEvidence()) if (!this.busy.has(owed.id)) this.resume(owed);
    this.gaugeOwed();
  }

  /** Owed evidence found at start: finished on the packaging queue, or lost when its incident or camera is gone. */
  private resume(owed: OwedEvidence): void {
    const inc = this.store.get(owed.incidentId);
    if (!inc) return void this.enqueuePackaging(() => this.lose(undefined, owed, `incident ${owed.incidentId} is not in the store`), owed);
    if (owed.kind === 'update') return this.enqueueUpdate(inc, owed, true);
    const req = this.evidenceRequest(inc);
    if (!req) return void this.enqueuePackaging(() => this.lose(undefined, owed, `camera ${inc.cameraId} is no longer in the config`), owed);
    this.enqueueFull(req, owed, true);
  }

  /**
   * The full-resolution package (stills at first sighting, confirmation and latest, the clip) after the
   * ticket went out with the snapshot: cutting it takes seconds (ffmpeg, and for a ring the clip's end must
   * be written first), which the squad should not wait for. Its own queue, so tickets never queue behind it.
   * `resumed`: owed from before a restart, so the ring may have rotated past its moments since.
   */
  private enqueueFull(req: EvidenceRequest, owed: OwedEvidence | undefined, resumed = false): void {
    this.enqueuePackaging(async () => {
      const full = { ...req, revision: FULL_REVISION, allMoments: true };
      const sealed = await this.finishOwed(full, owed, resumed);
      if (sealed) this.o.log.info({ incident: req.incidentId, dir: sealed.dir, elapsedMs: sealed.elapsedMs }, 'evidence: full-resolution package sealed');
    }, owed);
  }

  /**
   * A later sighting of an open incident: a revision with the latest still and a clip around it, chained
   * after the incident's earlier packages (same queue as the full package, so the revisions stay in order).
   */
  private enqueueUpdate(inc: Incident, owed: OwedEvidence, resumed = false): void {
    const req = this.evidenceRequest(inc, owed.latestMs);
    this.enqueuePackaging(async () => {
      if (!req) return this.lose(undefined, owed, `camera ${inc.cameraId} is no longer in the config`);
      // r1 is the snapshot and r2 the full package, each made on its own path: an update may run before
      // either is sealed (hits arriving faster than packaging), so updates number from 3 and never take theirs
      const revision = Math.max(FULL_REVISION, await this.packager.latestRevision(inc.id)) + 1;
      await this.finishOwed({ ...req, revision }, owed, resumed);
    }, owed);
  }

  /**
   * Makes an owed package and records it done — or, when it cannot be made (the ring no longer holds its
   * moment, a failing ffmpeg), records it lost. A retriable failure (a full or read-only disk) and shutdown
   * leave it owed: the sweep or the next start tries again, until the ring has rotated past its moment.
   */
  private async finishOwed(req: EvidenceRequest, owed: OwedEvidence | undefined, resumed: boolean): Promise<EvidencePackage | undefined> {
    try {
      if (resumed && (await this.packager.load(req.incidentId, req.revision))) {
        // sealed before a crash that came before it was recorded done
        this.done(owed, req.revision);
        return undefined;
      }
      const gone = resumed ? await this.ringLacks(req, owed?.kind ?? 'full') : undefined;
      if (gone) {
        await this.lose(req, owed, gone);
        return undefined;
      }
      const pkg = await retry(() => this.packager.package(req), { attempts: 3, initialMs: 2000, signal: this.abort.signal, isRetriable: (e) => isStreetwatchError(e) && e.retriable });
      this.done(owed, req.revision);
      this.store.touch(req.incidentId, this.now()); // the console shows the new evidence
      return pkg;
    } catch (e) {
      if (isStreetwatchError(e, 'EVIDENCE_EXISTS')) {
        this.done(owed, req.revision);
        return undefined;
      }
      if (isStreetwatchError(e, 'STOPPED') || this.abort.signal.aborted) {
        this.o.log.warn({ incident: req.incidentId, revision: req.revision }, 'evidence: stopping before an owed package was made; the next start makes it');
        return undefined;
      }
      this.counts.evidenceFailed++;
      this.o.metrics?.evidenceFailed.inc();
      if (owed && isStreetwatchError(e) && e.retriable) {
        this.o.log.error({ err: e, incident: req.incidentId, revision: req.revision }, `evidence: an owed package failed (${e.code}); it stays owed and is tried again every ${(this.o.owedRetryMs ?? OWED_RETRY_MS) / 1000} s while the ring holds its moments`);
        return undefined;
      }
      const err = toStreetwatchError(e, 'EVIDENCE_FAILED');
      await this.lose(req, owed, `${err.code}: ${err.message}`);
      return undefined;
    }
  }

  /**
   * After a restart: why the ring can no longer give an owed package its moment (the confirmation for the full
   * package, the sighting for an update), or undefined when it still can. A recorded file always can.
   */
  private async ringLacks(req: EvidenceRequest, kind: OwedEvidence['kind']): Promise<string | undefined> {
    if (req.source.kind !== 'ring') return undefined;
    const ms = kind === 'full' ? req.moments.confirmedMs : req.moments.latestMs;
    const at = await locateInRing(await segmentFiles(req.source.dir), ms);
    return at.ok ? undefined : `the camera's ring no longer holds ${isoInZone(ms, this.config.site.timezone)} (${at.reason})`;
  }

  /**
   * Records an owed package as lost — visibly: a signed marker revision in its place (so `evidence verify`
   * reports it; best effort, a full disk may refuse even that), the incident's evidenceLost and history (the
   * console), a metric and an error in the log.
   */
  private async lose(req: EvidenceRequest | undefined, owed: OwedEvidence | undefined, reason: string): Promise<void> {
    const kind = owed?.kind ?? 'full';
    let revision: number | undefined;
    if (req) {
      try {
        await this.packager.lost(req, reason);
        revision = req.revision;
      } catch (e) {
        this.o.log.warn({ err: e, incident: req.incidentId, revision: req.revision }, 'evidence: could not seal the lost-package marker either');
      }
    }
    const incidentId = owed?.incidentId ?? req!.incidentId;
    if (owed) this.store.evidenceLost(owed, reason, this.now(), revision);
    this.counts.evidenceLost++;
    this.o.metrics?.evidenceLost.inc({ kind });
    this.gaugeOwed();
    this.o.log.error({ incident: incidentId, kind, revision, reason }, `evidence: the ${kind === 'full' ? 'full-resolution package' : 'update'} owed to this incident is lost`);
  }

  private done(owed: OwedEvidence | undefined, revision: number): void {
    if (owed) this.store.evidenceDone(owed.id, revision, this.now());
    this.gaugeOwed();
  }

  private gaugeOwed(): void {
    this.o.metrics?.evidenceOwed.set(this.store.owedCount());
  }

  private async dispatch(inc: Incident, snapshot?: Hit['snapshot'], owed?: OwedEvidence): Promise<void> {
    const evidence = await this.evidenceFor(inc, snapshot, owed);
    const dispatch = this.config.dispatch;
    if (!dispatch) return; // no routing configured: incident and evidence only
    const cam = this.config.cameras.find((c) => c.id === inc.cameraId);
    const now = this.now();
    const ticket = buildTicket(
      {
        incidentId: inc.id,
        type: inc.type,
        cameraId: inc.cameraId,
        ...(cam?.name !== undefined ? { cameraName: cam.name } : {}),
        ...(cam?.location?.jurisdiction !== undefined ? { cameraJurisdiction: cam.location.jurisdiction } : {}),
        ...(cam?.location?.address !== undefined ? { address: cam.location.address } : {}),
        ...(inc.position ?? (cam?.location ? { lat: cam.location.lat, lon: cam.location.lon } : {})),
        zoneId: inc.zoneId,
        ...(inc.shop ? { shop: inc.shop } : {}),
        firstSeenMs: inc.firstSeenMs,
        confirmedMs: inc.confirmedMs,
        dwellSec: inc.dwellSec,
        evidence: (evidence?.files ?? []).map((f) => ({ uri: f.uri, sha256: f.sha256, name: f.name })),
        ...(inc.recurrenceOf ? { recurrenceOf: inc.recurrenceOf } : {}),
        priorOffences12m: this.store.priorOffences(inc, inc.confirmedMs - YEAR_MS),
      },
      ticketContext(dispatch, this.config.site.timezone, now),
    );
    const msg = ticketMessage(ticket, dispatch.kafka?.topics.tickets ?? 'streetwatch.tickets');
    if (this.store.addTicket({ incidentId: inc.id, squad: msg.key, ticket, topic: msg.topic, ...(msg.headers ? { headers: msg.headers } : {}) }, now)) {
      this.counts.tickets++;
      this.o.metrics?.tickets.inc({ type: inc.type, squad: msg.key });
      this.relay?.wake();
      this.o.onTicket?.(inc, ticket.ticketId);
    }
  }

  /**
   * Revision 1 of the incident's evidence: the snapshot package when the hit brought its frame (then the full
   * package follows as revision 2), else — after a restart — the full package straight away. `owed` is the
   * full package the store recorded as owed with the incident.
   */
  private async evidenceFor(inc: Incident, snapshot?: Hit['snapshot'], owed?: OwedEvidence): Promise<EvidencePackage | undefined> {
    const req = this.evidenceRequest(inc);
    if (!req) return undefined;
    const fullFollows = (resumed: boolean) => this.enqueueFull(req, owed, resumed);
    try {
      // packaged before a crash that came before the ticket: the sealed package is the evidence; if it is the
      // snapshot, its full package is still owed
      const sealed = await this.packager.load(req.incidentId, req.revision);
      if (sealed) {
        if (sealed.files.some((f) => f.name === SNAPSHOT_FILE)) fullFollows(true);
        else this.done(owed, req.revision);
        return sealed;
      }
      if (snapshot) {
        const pkg = await this.packager.snapshot(req, snapshot);
        fullFollows(false);
        return pkg;
      }
      const pkg = await retry(() => this.packager.package(req), { attempts: 3, initialMs: 500, isRetriable: (e) => (e as { code?: string }).code !== 'EVIDENCE_EXISTS' && (e as { code?: string }).code !== 'STOPPED' });
      this.done(owed, req.revision);
      return pkg;
    } catch (e) {
      this.counts.evidenceFailed++;
      this.o.metrics?.evidenceFailed.inc();
      this.o.log.error({ err: e, incident: inc.id }, 'evidence: packaging failed; the ticket goes out without evidence files');
      // the ticket goes out now; the full package it is owed is tried once more behind it, or marked lost
      if (owed) fullFollows(true);
      return undefined;
    }
  }

  /** What to package for an incident; `latestMs`: the sighting an update is for (default: the latest). */
  private evidenceRequest(inc: Incident, latestMs = inc.lastSeenMs): EvidenceRequest | undefined {
    const c = this.config.cameras.find((x) => x.id === inc.cameraId);
    if (!c) return undefined;
    const cam = resolveCamera(this.config, c);
    const zone = cam.zones.find((z) => z.id === inc.zoneId);
    const video = cam.source.kind === 'vehicle' ? cam.source.video : cam.source;
    const { dataDir } = dispatchPaths(this.config, this.o.baseDir);
    const pts = inc.frames.confirmed.ptsSec;
    // A file read faster than real time has no ring (see pipeline/camera.ts): the file itself is the evidence.
    const source: EvidenceRequest['source'] =
      video.kind === 'file' && !video.realtime && pts !== undefined
        ? { kind: 'file', path: resolveConfigPath(video.path, this.o.baseDir), startWallMs: inc.frames.confirmed.wallMs - pts * 1000 }
        : { kind: 'ring', dir: ringDir(dataDir, cam.id) };
    const info = (id: string) => this.o.detectorInfo?.(id) ?? { version: 'unknown' };
    return {
      incidentId: inc.id,
      revision: 1,
      camera: { id: cam.id, ...(cam.name ? { name: cam.name } : {}), ...(cam.location?.address ? { address: cam.location.address } : {}), ...(cam.location ? { lat: cam.location.lat, lon: cam.location.lon } : {}) },
      source,
      zone: { id: inc.zoneId, kind: zone?.kind ?? 'unknown', ...(zone?.polygon ? { polygon: zone.polygon.map((p) => [p[0], p[1]] as [number, number]) } : {}), ...(zone?.name ? { name: zone.name } : {}) },
      rule: { type: inc.type, dwellSec: zone?.rules?.[inc.type]?.dwell ?? inc.dwellSec },
      ...(inc.shop ? { shop: inc.shop } : {}),
      box: [inc.box[0], inc.box[1], inc.box[2], inc.box[3]],
      moments: { firstSeenMs: inc.firstSeenMs, confirmedMs: inc.confirmedMs, latestMs },
      detectors: inc.detectors.map((id) => ({ id, ...info(id) })),
      ...(inc.position ? { position: inc.position } : {}),
    };
  }

  readonly stop = once(async () => {
    this.abort.abort();
    clearInterval(this.retentionTimer);
    clearInterval(this.owedTimer);
    await this.retiring.catch(() => undefined);
    await this.transport;
    await this.o.status?.stop();
    await this.idle().catch(() => undefined);
    await this.relay?.stop();
    await this.o.sink?.stop();
    await this.packager.stop();
    this.store.stop();
  });
}
