import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { StreetwatchError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';
import type { Logger } from '../../core/log.js';
import type { Service } from '../../core/lifecycle.js';
import type { Metrics } from '../../core/metrics.js';
import { drawDetections } from '../../detectors/draw.js';
import { appendChain, chainHead, readChain, withChainLock } from './chain.js';
import type { EvidenceKeys } from './keys.js';
import { MANIFEST_FILE, parseManifest, sha256Hex, signatureProblem } from './manifest.js';
import { sealPackage } from './seal.js';
import { diskError, diskFull, freeBytes, makeDir, probeWritable, removeStaging, settleAll } from './disk.js';
import { concatCopy, cutCopy, extractStill, locateInRing, probeDurationSec, ringEndMs, segmentsCovering } from './media.js';
import { isoInZone } from '../../core/time.js';
import { segmentFiles } from '../../pipeline/ring.js';

/**
 * Evidence locking (证据锁定): one package per incident revision under `<root>/<incidentId>/r<revision>/` —
 * original full-resolution stills cut from the video at first sighting, confirmation and latest; annotated
 * copies; a clip copied without re-encoding; meta.json; and a signed manifest chained to the previous one.
 * A package is built in `<root>/.staging/` and renamed into place only when complete, then its chain line is
 * appended: a crash leaves either nothing or a finished, signed package.
 */

export interface EvidenceRequest {
  incidentId: string;
  /** 1 at confirmation; each later update (a new latest sighting) is 2, 3, … with its own chained manifest. */
  revision: number;
  camera: { id: string; name?: string; address?: string; lat?: number; lon?: number };
  source: { kind: 'ring'; dir: string } | { kind: 'file'; path: string; /** wall time of PTS 0 */ startWallMs: number };
  zone: { id: string; kind: string; polygon?: [number, number][]; name?: string };
  rule: { type: 'stall' | 'door_front' | 'stacking'; dwellSec: number };
  shop?: { id: string; name: string; licence?: string };
  /** The offending object, normalised [x1, y1, x2, y2]. */
  box: [number, number, number, number];
  moments: { firstSeenMs: number; confirmedMs: number; latestMs: number };
  detectors: { id: string; version: string; thresholds?: Record<string, number> }[];
  position?: { lat: number; lon: number };
  /**
   * Cut all three moments and the whole clip even though revision > 1: the full package that follows an
   * instant snapshot package (revision 1, see `snapshot`).
   */
  allMoments?: boolean;
}

export interface EvidenceFile {
  name: string;
  sha256: string;
  bytes: number;
  uri: string;
}

export interface EvidencePackage {
  dir: string;
  manifestSha256: string;
  /** Every file including manifest.json (last), with file:// URIs for tickets. */
  files: EvidenceFile[];
  /** What could not be cut (aged out of the ring, a gap…), as in meta.json. */
  missing: { item: string; reason: string }[];
  seq: number;
  elapsedMs: number;
}

export interface EvidencePackagerOptions {
  root: string;
  keys: EvidenceKeys;
  log: Logger;
  /** Clip starts this long before the first sighting (default 5). */
  clipBeforeSec?: number;
  /** …and ends this long after the latest (default 5). */
  clipAfterSec?: number;
  /** Longest clip; a longer span keeps its end, where the violation is confirmed (default 60). */
  maxClipSec?: number;
  /** How long to wait past the clip's end for the ring to finish writing it (default 8 s). */
  ringWaitSec?: number;
  /** Site time zone for meta.json and the annotation (IANA, e.g. Asia/Shanghai). */
  timezone: string;
  now?: () => number;
  /**
   * A package is refused (EVIDENCE_DISK_FULL) when the root's filesystem has less free than this (default
   * 64 MiB): a full package is a few MB to a few tens (three 1080p PNG stills of ~1.5 MB, a clip of up to a
   * minute), and the camera rings usually share the disk, so the last megabytes are better left to them.
   * A snapshot needs only room for its frame (see `snapshot`).
   */
  minFreeBytes?: number;
  /** streetwatch_evidence_free_bytes is set at start, before each package and every `freeCheckSec`. */
  metrics?: Pick<Metrics, 'evidenceFreeBytes'>;
  /** How often free space is checked while idle, for the metric and a warning (default 60 s). */
  freeCheckSec?: number;
}

/** The instant package's one image: a package holding it is a snapshot, whose full package must follow. */
export const SNAPSHOT_FILE = 'snapshot-confirmed.jpg';

export const DEFAULT_MIN_FREE_BYTES = 64 * 1024 * 1024;
/** Room a small package (snapshot, lost marker) needs besides its frame: meta.json, manifest, chain line, filesystem blocks. */
const SMALL_PACKAGE_BYTES = 1024 * 1024;

type MomentName = 'first' | 'confirmed' | 'latest';

const RULE_NAMES: Record<EvidenceRequest['rule']['type'], string> = { stall: '流动设摊 stall', door_front: '跨门经营 door_front', stacking: '占道堆物 stacking' };
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class EvidencePackager implements Service {
  private readonly root: string;
  private stopped = false;
  private started = false;
  private starting: Promise<void> | undefined;
  private freeTimer: NodeJS.Timeout | undefined;
  private lowSpace = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(private readonly opts: EvidencePackagerOptions) {
    this.root = resolve(opts.root);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Clears what a crash left in `.staging` and chains a package a crash left unchained. Rejects with
   * EVIDENCE_ROOT_NOT_WRITABLE naming the root when it takes no writes (EVIDENCE_DISK_FULL when it is too
   * full for an empty file); a later package() tries again, so a root remounted read-write recovers.
   */
  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    // One start at a time: a second start's cleanup would remove the staging folder of a package the first let through.
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const staging = join(this.root, '.staging');
    try {
      await makeDir(staging);
      await probeWritable(staging);
      // Half-built packages from a crash: never part of the evidence, so they go.
      for (const d of await readdir(staging)) await rm(join(staging, d), { recursive: true, force: true });
    } catch (e) {
      throw diskError(e, this.root, 'starting the evidence packager') ?? e;
    }
    await this.checkFree();
    try {
      await this.recoverUnchained();
    } catch (e) {
      throw diskError(e, this.root, 'chaining a package a crash left unchained') ?? e;
    }
    this.started = true;
    if (!this.freeTimer && !this.stopped) {
      this.freeTimer = setInterval(() => void this.checkFree(), (this.opts.freeCheckSec ?? 60) * 1000);
      this.freeTimer.unref();
    }
  }

  /** Idempotent: refuses new packages, stops waiting on the ring, and waits for packages being written. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.freeTimer);
    this.freeTimer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Free bytes of the root's filesystem, into the metric; warns once each time it falls below the floor. */
  private async checkFree(): Promise<number | undefined> {
    const free = await freeBytes(this.root).catch((e: unknown) => {
      this.opts.log.warn({ err: e, root: this.root }, 'evidence: cannot read the free space of the evidence root');
      return undefined;
    });
    if (free === undefined) return undefined;
    this.opts.metrics?.evidenceFreeBytes.set(free);
    const low = free < this.minFreeBytes;
    if (low && !this.lowSpace) this.opts.log.error({ root: this.root, freeBytes: free, minFreeBytes: this.minFreeBytes }, 'evidence: the evidence root is nearly full; packages are refused until space is freed');
    else if (!low && this.lowSpace) this.opts.log.info({ root: this.root, freeBytes: free }, 'evidence: the evidence root has room again');
    this.lowSpace = low;
    return free;
  }

  private get minFreeBytes(): number {
    return this.opts.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
  }

  /** Refuses a package up front when the disk has less than `need` free: better than failing halfway through it. */
  private async ensureRoom(req: EvidenceRequest, need: number): Promise<void> {
    const free = await this.checkFree();
    if (free === undefined || free >= need) return;
    throw diskFull(this.root, `evidence root ${this.root} has ${mib(free)} free, below the ${mib(need)} kept free; incident ${req.incidentId} revision ${req.revision} was not packaged`, undefined, { freeBytes: free, minFreeBytes: need });
  }

  package(req: EvidenceRequest): Promise<EvidencePackage> {
    return this.track(() => this.build(req), req.incidentId);
  }

  /** Runs one packaging job: refused once stopped, awaited by stop(). */
  private track<T>(job: () => Promise<T>, incidentId = ''): Promise<T> {
    if (this.stopped) return Promise.reject(new StreetwatchError('STOPPED', `evidence packager for ${this.root} is stopped; incident ${incidentId} was not packaged`));
    const p = (async () => {
      if (!this.started) await this.start();
      try {
        return await job();
      } catch (e) {
        throw diskError(e, this.root, `packaging incident ${incidentId}`) ?? e;
      }
    })();
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /** A fresh staging folder for a package, refusing a revision that already exists or a disk without `need` bytes free. */
  private async staging(req: EvidenceRequest, need = this.minFreeBytes): Promise<string> {
    const finalDir = join(this.root, req.incidentId, `r${req.revision}`);
    if (existsSync(finalDir)) throw new StreetwatchError('EVIDENCE_EXISTS', `evidence ${finalDir} already exists; a later update of incident ${req.incidentId} needs revision ${req.revision + 1}`);
    await this.ensureRoom(req, need);
    const staging = join(this.root, '.staging', `${req.incidentId}-r${req.revision}-${randomBytes(4).toString('hex')}`);
    await makeDir(staging);
    return staging;
  }

  /** The highest revision of an incident sealed so far (0: none). */
  async latestRevision(incidentId: string): Promise<number> {
    const names = await readdir(join(this.root, incidentId)).catch(() => [] as string[]);
    return Math.max(0, ...names.filter((n) => /^r\d+$/.test(n)).map((n) => Number(n.slice(1))));
  }

  /**
   * A package already sealed (a crash after packaging, before the ticket): its files as the manifest lists
   * them, the manifest's own hash from the bytes on disk. Undefined when there is none.
   */
  async load(incidentId: string, revision: number): Promise<EvidencePackage | undefined> {
    const dir = join(this.root, incidentId, `r${revision}`);
    const file = join(dir, MANIFEST_FILE);
    if (!existsSync(file)) return undefined;
    const bytes = await readFile(file);
    const m = parseManifest(bytes.toString('utf8'), file);
    const uri = (n: string) => pathToFileURL(join(dir, n)).href;
    const missing = await readFile(join(dir, 'meta.json'), 'utf8').then((t) => (JSON.parse(t) as { missing?: EvidencePackage['missing'] }).missing ?? [], () => []);
    return {
      dir,
      manifestSha256: sha256Hex(bytes),
      seq: m.seq,
      missing,
      elapsedMs: 0,
      files: [...m.files.map((f) => ({ ...f, uri: uri(f.name) })), { name: MANIFEST_FILE, sha256: sha256Hex(bytes), bytes: bytes.length, uri: uri(MANIFEST_FILE) }],
    };
  }

  /** meta.json: what, where, when (ISO 8601 with offset), by which detectors, and what each file is. */
  private meta(req: EvidenceRequest, contents: Record<string, unknown>): Record<string, unknown> {
    const tz = this.opts.timezone;
    return {
      schema: 'streetwatch.evidence.meta/1',
      incidentId: req.incidentId,
      revision: req.revision,
      createdAt: isoInZone(this.now(), tz),
      timezone: tz,
      camera: req.camera,
      place: { address: req.camera.address, position: req.position ?? (req.camera.lat !== undefined && req.camera.lon !== undefined ? { lat: req.camera.lat, lon: req.camera.lon } : undefined) },
      zone: req.zone,
      rule: { ...req.rule, name: RULE_NAMES[req.rule.type] },
      shop: req.shop,
      box: req.box,
      times: {
        firstSeen: isoInZone(req.moments.firstSeenMs, tz),
        confirmed: isoInZone(req.moments.confirmedMs, tz),
        latest: isoInZone(req.moments.latestMs, tz),
        observedDwellSec: round3((req.moments.latestMs - req.moments.firstSeenMs) / 1000),
      },
      detectors: req.detectors,
      source: req.source.kind === 'ring' ? { kind: 'ring', dir: req.source.dir } : { kind: 'file', path: req.source.path, startWallTime: isoInZone(req.source.startWallMs, tz) },
      ...contents,
    };
  }

  /** Signs, chains and moves a finished staging folder into place; describes the package for the ticket. */
  private async seal(req: EvidenceRequest, staging: string, missing: EvidencePackage['missing'], t0: number, log: Logger): Promise<EvidencePackage> {
    const finalDir = join(this.root, req.incidentId, `r${req.revision}`);
    const sealed = await sealPackage({ root: this.root, staging, incidentId: req.incidentId, revision: req.revision, keys: this.opts.keys, timezone: this.opts.timezone, now: this.now });
    const { seq, manifestSha256, files } = sealed;
    const elapsedMs = Math.round(performance.now() - t0);
    const uri = (n: string) => pathToFileURL(join(finalDir, n)).href;
    const out: EvidencePackage = {
      dir: finalDir,
      manifestSha256,
      seq,
      missing,
      elapsedMs,
      files: [...files.map((f) => ({ ...f, uri: uri(f.name) })), { name: MANIFEST_FILE, sha256: manifestSha256, bytes: sealed.manifestBytes, uri: uri(MANIFEST_FILE) }],
    };
    log.info({ dir: finalDir, seq, files: out.files.length, missing: missing.length, elapsedMs }, 'evidence packaged');
    if (missing.length) log.warn({ missing }, 'evidence package is missing items');
    return out;
  }

  /**
   * The instant package: the frame the violation was confirmed on, as the detectors saw it (scaled, rgb24),
   * with meta.json, signed and chained — ready within tens of milliseconds, so the ticket need not wait for
   * ffmpeg. The full-resolution stills and the clip follow as the next revision (`allMoments`).
   */
  snapshot(req: EvidenceRequest, frame: { width: number; height: number; data: Buffer }): Promise<EvidencePackage> {
    return this.track(async () => {
      const t0 = performance.now();
      validate(req);
      // The ticket carries this package: it is refused only when its frame could not fit (the raw frame
      // bounds its JPEG), not at the full package's floor, which it is far below.
      const staging = await this.staging(req, Math.min(this.minFreeBytes, frame.data.length + SMALL_PACKAGE_BYTES));
      const log = this.opts.log.child({ incident: req.incidentId, revision: req.revision, camera: req.camera.id });
      try {
        await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality: 92 }).toFile(join(staging, SNAPSHOT_FILE));
        const snapshot = { moment: 'confirmed', file: SNAPSHOT_FILE, at: isoInZone(req.moments.confirmedMs, this.opts.timezone), atMs: req.moments.confirmedMs, width: frame.width, height: frame.height, note: 'the detection frame as decoded and scaled for the detectors; the full-resolution stills and the clip are in the next revision' };
        await writeFile(join(staging, 'meta.json'), JSON.stringify(this.meta(req, { snapshot, missing: [] }), null, 2) + '\n');
        return await this.seal(req, staging, [], t0, log);
      } finally {
        await removeStaging(staging, log);
      }
    }, req.incidentId);
  }

  /**
   * A signed marker in the place of a package that was owed but cannot be made (the ring rotated past its
   * moments during a crash, a disk that stayed full): meta.json with `lost: { reason }` and no media, sealed
   * and chained like any package, so the chain says what is missing and why, and `evidence verify` reports it.
   */
  lost(req: EvidenceRequest, reason: string): Promise<EvidencePackage> {
    return this.track(async () => {
      const t0 = performance.now();
      validate(req);
      // a few KB, written when the disk may be what lost the package: not held to the full package's floor
      const staging = await this.staging(req, Math.min(this.minFreeBytes, SMALL_PACKAGE_BYTES));
      const log = this.opts.log.child({ incident: req.incidentId, revision: req.revision, camera: req.camera.id });
      try {
        const what = req.revision === 1 || req.allMoments ? 'full-resolution package (stills at first sighting, confirmation and latest; clip)' : 'update (latest still and clip)';
        await writeFile(join(staging, 'meta.json'), JSON.stringify(this.meta(req, { lost: { what, reason }, missing: [] }), null, 2) + '\n');
        return await this.seal(req, staging, [], t0, log);
      } finally {
        await removeStaging(staging, log);
      }
    }, req.incidentId);
  }

  private async build(req: EvidenceRequest): Promise<EvidencePackage> {
    const t0 = performance.now();
    validate(req);
    const staging = await this.staging(req);
    const log = this.opts.log.child({ incident: req.incidentId, revision: req.revision, camera: req.camera.id });
    try {
      const missing: { item: string; reason: string }[] = [];
      const tz = this.opts.timezone;
      const moments: [MomentName, number][] =
        req.revision === 1 || req.allMoments
          ? [['first', req.moments.firstSeenMs], ['confirmed', req.moments.confirmedMs], ['latest', req.moments.latestMs]]
          : [['latest', req.moments.latestMs]]; // earlier moments are in revision 1 (and likely out of the ring by now)

      // The moments are independent ffmpeg + sharp jobs: run them together (most of a package's time).
      const cutOne = async ([moment, ms]: [MomentName, number]): Promise<{ still?: Record<string, unknown>; missing?: { item: string; reason: string } }> => {
        const name = `still-${moment}.png`;
        const cut = await this.cutStill(req, ms, join(staging, name));
        if (!cut.ok) return { missing: { item: name, reason: cut.reason } };
        const meta = await sharp(join(staging, name)).metadata();
        const annotated = `annotated-${moment}.jpg`;
        await drawDetections(join(staging, name), [{ box: req.box, label: req.rule.type, score: 1, text: `${RULE_NAMES[req.rule.type]} ≥${req.rule.dwellSec}s`, colour: '#ff3b30', emphasis: true }], join(staging, annotated), {
          zones: req.zone.polygon && req.zone.polygon.length >= 3 ? [{ points: req.zone.polygon, label: req.zone.name ?? req.zone.id }] : [],
          caption: [`${req.camera.name ?? req.camera.id} (${req.camera.id})${req.camera.address ? ' ' + req.camera.address : ''}`, `${isoInZone(ms, tz)}  ${moment}`, `${RULE_NAMES[req.rule.type]}  ${req.shop ? req.shop.name + '  ' : ''}zone ${req.zone.name ?? req.zone.id}`],
          quality: 95,
        });
        return { still: { moment, file: name, annotated, at: isoInZone(ms, tz), atMs: ms, from: cut.from, offsetSec: round3(cut.offsetSec), width: meta.width, height: meta.height } };
      };
      // The confirmation is usually now, inside the segment ffmpeg is still writing (not yet readable): wait,
      // bounded, until the segment holding the newest moment is closed, as the clip does for its end.
      if (req.source.kind === 'ring') await this.waitForRing(req.source.dir, Math.max(...moments.map(([, ms]) => ms)));
      const cuts = await settleAll(moments.map(cutOne), this.root);
      const stills = cuts.flatMap((c) => (c.still ? [c.still] : []));
      for (const c of cuts) if (c.missing) missing.push(c.missing);

      const clip = await this.cutClip(req, staging);
      if (!clip.ok) missing.push({ item: 'clip.mp4', reason: clip.reason });

      await writeFile(join(staging, 'meta.json'), JSON.stringify(this.meta(req, { stills, clip: clip.ok ? clip.meta : undefined, missing }), null, 2) + '\n');
      return await this.seal(req, staging, missing, t0, log);
    } finally {
      await removeStaging(staging, log);
    }
  }

  private async cutStill(req: EvidenceRequest, wallMs: number, out: string): Promise<{ ok: true; from: string; offsetSec: number } | { ok: false; reason: string }> {
    if (req.source.kind === 'file') {
      const offsetSec = (wallMs - req.source.startWallMs) / 1000;
      const dur = await probeDurationSec(req.source.path);
      if (offsetSec < 0 || (dur !== undefined && offsetSec > dur)) return { ok: false, reason: `${offsetSec.toFixed(3)} s is outside ${req.source.path} (0–${dur?.toFixed(3) ?? '?'} s)` };
      const ok = await extractStill(req.source.path, Math.min(offsetSec, Math.max(0, (dur ?? offsetSec) - 0.1)), out);
      return ok ? { ok, from: req.source.path, offsetSec } : { ok: false, reason: `no frame at ${offsetSec.toFixed(3)} s in ${req.source.path}` };
    }
    const at = await locateInRing(await segmentFiles(req.source.dir), wallMs);
    if (!at.ok) return at;
    const ok = await extractStill(at.segment.file, at.offsetSec, out);
    return ok ? { ok, from: at.segment.name, offsetSec: at.offsetSec } : { ok: false, reason: `no frame at ${at.offsetSec.toFixed(3)} s in ring segment ${at.segment.name}` };
  }

  private clipWindow(req: EvidenceRequest): { fromMs: number; toMs: number; truncated: boolean } {
    const before = (this.opts.clipBeforeSec ?? 5) * 1000;
    const after = (this.opts.clipAfterSec ?? 5) * 1000;
    const max = (this.opts.maxClipSec ?? 60) * 1000;
    const start = (req.revision === 1 || req.allMoments ? req.moments.firstSeenMs : req.moments.latestMs) - before;
    const toMs = req.moments.latestMs + after;
    // Minutes of dwell make a long span; its end (the stall still there at confirmation) is what a clip must show.
    return toMs - start > max ? { fromMs: toMs - max, toMs, truncated: true } : { fromMs: start, toMs, truncated: false };
  }

  private async cutClip(req: EvidenceRequest, staging: string): Promise<{ ok: true; meta: Record<string, unknown> } | { ok: false; reason: string }> {
    const w = this.clipWindow(req);
    const tz = this.opts.timezone;
    const out = join(staging, 'clip.mp4');
    if (req.source.kind === 'file') {
      const dur = (await probeDurationSec(req.source.path)) ?? 0;
      const from = Math.max(0, (w.fromMs - req.source.startWallMs) / 1000);
      const to = Math.min(dur, (w.toMs - req.source.startWallMs) / 1000);
      if (to <= from) return { ok: false, reason: `the clip window is outside ${req.source.path}` };
      await cutCopy(req.source.path, from, to, out);
      return { ok: true, meta: { file: 'clip.mp4', from: isoInZone(w.fromMs, tz), to: isoInZone(w.toMs, tz), truncated: w.truncated, reencoded: false, sourceFromSec: round3(from), sourceToSec: round3(to) } };
    }
    const dir = req.source.dir;
    await this.waitForRing(dir, w.toMs);
    const all = await segmentFiles(dir);
    const segs = segmentsCovering(all, w.fromMs, w.toMs, await ringEndMs(all));
    if (segs.length === 0) return { ok: false, reason: `no ring segment in ${dir} covers ${isoInZone(w.fromMs, tz)} – ${isoInZone(w.toMs, tz)}` };
    await concatCopy(segs.map((s) => s.file), out, join(staging, '.concat.txt'));
    await rm(join(staging, '.concat.txt'), { force: true });
    return { ok: true, meta: { file: 'clip.mp4', from: isoInZone(w.fromMs, tz), to: isoInZone(w.toMs, tz), truncated: w.truncated, reencoded: false, segments: segs.map((s) => s.name) } };
  }

  /**
   * The clip ends after the latest sighting, which may still be in the future or in the segment ffmpeg is
   * writing: wait (bounded) until a segment starting after the window's end exists, so the last one is closed.
   */
  private async waitForRing(dir: string, toMs: number): Promise<void> {
    const deadline = toMs + (this.opts.ringWaitSec ?? 8) * 1000;
    for (;;) {
      const segs = await segmentFiles(dir);
      if ((segs.at(-1)?.startMs ?? -Infinity) > toMs || this.now() >= deadline || this.abort.signal.aborted) return;
      // sleep removes its abort listener when the timer fires (a listener per poll would pile up)
      await sleep(500, this.abort.signal).catch(() => undefined);
    }
  }

  /**
   * A crash between renaming a finished package into place and appending its chain line leaves a signed
   * package the chain does not know. If it is exactly the next link (seq head+1, previous = head), append it.
   */
  private async recoverUnchained(): Promise<void> {
    await withChainLock(this.root, async () => {
      const chain = await readChain(this.root);
      if (chain.badLines.length) return; // verify reports it; packaging will refuse
      const head = chainHead(chain);
      const known = new Set(chain.entries.map((e) => e.entry.dir));
      for (const inc of await readdir(this.root, { withFileTypes: true })) {
        if (!inc.isDirectory() || inc.name.startsWith('.')) continue;
        for (const r of await readdir(join(this.root, inc.name))) {
          const rel = `${inc.name}/${r}`;
          const mf = join(this.root, inc.name, r, MANIFEST_FILE);
          if (known.has(rel) || !existsSync(mf)) continue;
          const raw = await readFile(mf);
          try {
            const m = parseManifest(raw.toString('utf8'), mf);
            if (m.seq === (head?.seq ?? 0) + 1 && m.previous === (head?.manifestSha256 ?? null) && !signatureProblem(m, this.opts.keys.publicKeyPem)) {
              await appendChain(this.root, { kind: 'manifest', seq: m.seq, incidentId: m.incidentId, revision: m.revision, dir: rel, manifestSha256: sha256Hex(raw), previous: m.previous, createdMs: Date.parse(m.createdAt) });
              this.opts.log.warn({ dir: rel, seq: m.seq }, 'evidence package was not in the chain (crash while packaging); appended');
              return;
            }
          } catch {
            /* not ours to fix: verify reports it as extra */
          }
          this.opts.log.warn({ dir: rel }, 'evidence package is not in the chain; evidence verify will report it');
        }
      }
    });
  }
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

function validate(req: EvidenceRequest): void {
  const bad = (why: string) => new StreetwatchError('EVIDENCE_REQUEST_INVALID', `evidence request for incident '${req.incidentId}': ${why}`);
  if (!ID.test(req.incidentId)) throw bad('incidentId must be letters, digits, . _ - (it names a folder)');
  if (!Number.isInteger(req.revision) || req.revision < 1) throw bad(`revision must be an integer ≥ 1, got ${req.revision}`);
  if (req.box.length !== 4 || !req.box.every((v) => Number.isFinite(v) && v >= 0 && v <= 1) || req.box[2] <= req.box[0] || req.box[3] <= req.box[1]) throw bad(`box must be normalised [x1, y1, x2, y2] with x1 < x2, y1 < y2, got ${JSON.stringify(req.box)}`);
  const m = req.moments;
  if (![m.firstSeenMs, m.confirmedMs, m.latestMs].every(Number.isFinite)) throw bad('moments must be times in ms');
  if (!(m.firstSeenMs <= m.confirmedMs && m.confirmedMs <= m.latestMs)) throw bad('moments must be in order: firstSeen ≤ confirmed ≤ latest');
  if (req.source.kind === 'file' && !existsSync(req.source.path)) throw bad(`source file ${req.source.path} does not exist`);
}
