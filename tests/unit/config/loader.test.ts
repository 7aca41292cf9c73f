import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossCheckConfig, formatIssues, formatPath, loadConfig, parseConfigText, type ConfigIssue } from '../../../config/loader.js';
import { isStreetwatchError, StreetwatchError } from '../../../core/errors.js';
import { PROJECT_ROOT } from '../../../core/paths.js';
import { loadScenarioSpec } from '../../../pipeline/scenario/spec.js';
import { pointInPolygon } from '../../../pipeline/zones.js';

/** Parses `text`, expects CONFIG_INVALID and returns its issues. */
function issuesOf(text: string, file = 'test.yaml'): ConfigIssue[] {
  try {
    parseConfigText(text, file);
  } catch (e) {
    expect(isStreetwatchError(e, 'CONFIG_INVALID')).toBe(true);
    return (e as StreetwatchError).details.issues as ConfigIssue[];
  }
  throw new Error('expected the config to be rejected');
}

/** 1-based line and column of the first occurrence of `needle` (nth occurrence with `nth`). */
function where(text: string, needle: string, nth = 1): { line: number; column: number } {
  let from = 0;
  let idx = -1;
  for (let i = 0; i < nth; i++) {
    idx = text.indexOf(needle, from);
    if (idx < 0) throw new Error(`fixture does not contain ${JSON.stringify(needle)} ${nth} times`);
    from = idx + 1;
  }
  const before = text.slice(0, idx);
  const line = before.split('\n').length;
  return { line, column: idx - before.lastIndexOf('\n') };
}

const camera = (extra = '') => `version: 1
cameras:
  - id: cam-a
    source:
      kind: rtsp
      url: rtsp://u:p@10.0.0.1/1
${extra}    zones:
      - id: z1
        kind: no_vending
        polygon: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]
        rules:
          stall: { dwell: 60 }
`;

interface Case {
  name: string;
  yaml: string;
  path: string;
  /** The issue is at this text (its first character), or at its `nth` occurrence. */
  at: string;
  nth?: number;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: 'unknown key at the top level',
    yaml: `version: 1\ncolour: red\ncameras: []\n`,
    path: 'colour',
    at: 'colour',
    message: /^unknown key 'colour'; allowed here: version, site, /,
  },
  {
    name: 'unknown key in a camera, with a suggestion',
    yaml: camera('    nmae: front door\n'),
    path: 'cameras[0].nmae',
    at: 'nmae',
    message: /^unknown key 'nmae'; did you mean 'name'\?$/,
  },
  {
    name: 'unknown key in a zone (dwell belongs under rules)',
    yaml: camera().replace('        rules:', '        dwell: 60\n        rules:'),
    path: 'cameras[0].zones[0].dwell',
    at: 'dwell: 60',
    message: /^unknown key 'dwell'/,
  },
  {
    name: 'snake_case for a camelCase key',
    yaml: `version: 1\nscheduler:\n  queue_capacity: 4\n`,
    path: 'scheduler.queue_capacity',
    at: 'queue_capacity',
    message: /did you mean 'queueCapacity'\?/,
  },
  {
    name: 'wrong type: a quoted number',
    yaml: `version: 1\nhttp:\n  port: "8080"\n`,
    path: 'http.port',
    at: '"8080"',
    message: /^expected number, got string "8080"$/,
  },
  {
    name: 'wrong type: a list where a mapping belongs',
    yaml: `version: 1\nhttp: [8080]\n`,
    path: 'http',
    at: 'http',
    message: /expected a mapping \(key: value\), got a list of 1/,
  },
  {
    name: 'bad enum value',
    yaml: camera('').replace('      url: rtsp://u:p@10.0.0.1/1', '      url: rtsp://u:p@10.0.0.1/1\n      transport: tpc'),
    path: 'cameras[0].source.transport',
    at: 'tpc',
    message: /^must be one of tcp, udp; got string "tpc"$/,
  },
  {
    name: 'bad source kind (discriminator)',
    yaml: camera().replace('kind: rtsp', 'kind: rtmp'),
    path: 'cameras[0].source.kind',
    at: 'rtmp',
    message: /^kind must be one of rtsp, file, vehicle; got string "rtmp"$/,
  },
  {
    name: 'bad zone kind',
    yaml: camera().replace('kind: no_vending', 'kind: no_parking'),
    path: 'cameras[0].zones[0].kind',
    at: 'no_parking',
    message: /kind must be one of no_vending, shopfront, no_stacking, legal_stall, mask/,
  },
  {
    name: 'missing required key points at the parent object',
    yaml: camera().replace('      url: rtsp://u:p@10.0.0.1/1\n', ''),
    path: 'cameras[0].source.url',
    at: 'source:',
    message: /^missing required key 'url' \(string\)$/,
  },
  {
    name: 'missing version points at the top-level mapping',
    yaml: `cameras: []\n`,
    path: 'version',
    at: 'cameras',
    message: /^missing required key 'version'/,
  },
  {
    name: 'missing key in a list item points at the item',
    yaml: camera().replace('      - id: z1\n', '      - name: z1\n'),
    path: 'cameras[0].zones[0].id',
    at: 'name: z1',
    message: /^missing required key 'id'/,
  },
  {
    name: 'number out of range',
    yaml: `version: 1\ndefaults:\n  reconnect:\n    jitter: 1.5\n`,
    path: 'defaults.reconnect.jitter',
    at: '1.5',
    message: /^must be <= 1; got number 1.5$/,
  },
  {
    name: 'unknown site time zone',
    yaml: `version: 1\nsite:\n  timezone: Beijing\n`,
    path: 'site.timezone',
    at: 'Beijing',
    message: /^unknown time zone 'Beijing'; use an IANA name such as Asia\/Shanghai$/,
  },
  {
    name: 'YAML syntax error: unclosed flow sequence',
    yaml: `version: 1\ncameras:\n  - id: a\n    zones: [\n  - id: b\n`,
    path: 'cameras[0].zones',
    at: '- id: b',
    message: /^YAML: .*\]/,
  },
  {
    name: 'YAML syntax error: bad indentation',
    yaml: `version: 1\nhttp:\n    host: 0.0.0.0\n  port: 80\n`,
    path: 'http',
    at: '  port',
    message: /^YAML: All mapping items must start at the same column$/,
  },
  {
    name: 'duplicate YAML key',
    yaml: `version: 1\nhttp:\n  port: 80\n  port: 81\n`,
    path: 'http.port',
    at: 'port',
    nth: 2,
    message: /^YAML: a key is repeated/,
  },
  {
    name: 'duplicate camera id',
    yaml: camera() + `  - id: cam-a\n    source: { kind: file, path: a.mp4 }\n`,
    path: 'cameras[1].id',
    at: 'cam-a',
    nth: 2,
    message: /^camera id 'cam-a' is already used by cameras\[0\]/,
  },
  {
    name: 'duplicate zone id within a camera',
    yaml: camera() + `      - id: z1\n        kind: mask\n        polygon: [[0, 0], [1, 0], [1, 1]]\n`,
    path: 'cameras[0].zones[1].id',
    at: 'z1',
    nth: 2,
    message: /^zone id 'z1' is already used by zones\[0\]/,
  },
  {
    name: 'shopfront without a shop',
    yaml: camera().replace('kind: no_vending', 'kind: shopfront').replace('stall:', 'door_front:'),
    path: 'cameras[0].zones[0]',
    at: 'id: z1',
    message: /^a shopfront zone needs shop: \{id, name\}/,
  },
  {
    name: 'polygon with 2 points',
    yaml: camera().replace('[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]', '[[0.1, 0.1], [0.9, 0.1]]'),
    path: 'cameras[0].zones[0].polygon',
    at: 'polygon:',
    message: /^a polygon needs at least 3 points \[x, y\]; got a list of 2$/,
  },
  {
    name: 'polygon point outside 0..1',
    yaml: camera().replace('[0.9, 0.1]', '[1.9, 0.1]'),
    path: 'cameras[0].zones[0].polygon[1][0]',
    at: '1.9',
    message: /normalised to 0\.\.1/,
  },
  {
    name: 'mask zone with rules',
    yaml: camera().replace('kind: no_vending', 'kind: mask'),
    path: 'cameras[0].zones[0].rules',
    at: 'rules:',
    message: /^a mask zone is ignored by detection, so it has no rules$/,
  },
  {
    name: 'bad HH:MM',
    yaml: camera().replace('stall: { dwell: 60 }', 'stall: { dwell: 60, activeHours: [{ from: "8:00", to: "20:00" }] }'),
    path: 'cameras[0].zones[0].rules.stall.activeHours[0].from',
    at: '"8:00"',
    message: /HH:MM/,
  },
  {
    name: 'geofence on a fixed camera',
    yaml: camera().replace(
      'polygon: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]',
      'geofence: { type: Polygon, coordinates: [[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.0]]] }',
    ),
    path: 'cameras[0].zones[0].geofence',
    at: 'geofence:',
    message: /fixed camera places zones with polygon/,
  },
  {
    name: 'image polygon on a vehicle camera',
    yaml: camera().replace(
      `    source:\n      kind: rtsp\n      url: rtsp://u:p@10.0.0.1/1\n`,
      `    source:\n      kind: vehicle\n      video: { kind: rtsp, url: rtsp://10.0.0.9/front }\n      telemetry: { path: t.nmea }\n`,
    ),
    path: 'cameras[0].zones[0].polygon',
    at: 'polygon:',
    message: /vehicle camera's view moves, so its no_vending zone needs a geofence/,
  },
  {
    name: 'camera jurisdiction missing from dispatch routing',
    yaml:
      camera('    location: { lat: 31.2, lon: 121.4, jurisdiction: waitan }\n') +
      `dispatch:\n  routing:\n    squads: [{ id: s1, name: S1 }]\n    jurisdictions: [{ id: nanjingdong, name: N, squad: s1 }]\n    defaultSquad: s1\n`,
    path: 'cameras[0].location.jurisdiction',
    at: 'waitan',
    message: /^jurisdiction 'waitan' is not in dispatch.routing.jurisdictions \(nanjingdong\)/,
  },
  {
    name: 'routing to an unknown squad',
    yaml: camera() + `dispatch:\n  routing:\n    squads: [{ id: s1, name: S1 }]\n    defaultSquad: s2\n`,
    path: 'dispatch.routing.defaultSquad',
    at: 's2',
    message: /^squad 's2' is not in routing.squads \(s1\)$/,
  },
  {
    name: 'cameraJurisdiction names a camera that does not exist',
    yaml:
      camera() +
      `dispatch:\n  routing:\n    squads: [{ id: s1, name: S1 }]\n    jurisdictions: [{ id: j1, name: J, squad: s1 }]\n    cameraJurisdiction:\n      cam-b: j1\n    defaultSquad: s1\n`,
    path: 'dispatch.routing.cameraJurisdiction.cam-b',
    at: 'j1',
    nth: 2,
    message: /^no camera has id 'cam-b'$/,
  },
  {
    name: 'SASL password given as a value instead of an env var name',
    yaml:
      camera() +
      `dispatch:\n  kafka:\n    brokers: ["127.0.0.1:9092"]\n    sasl: { mechanism: plain, usernameEnv: KAFKA_USER, passwordEnv: "hunter2!" }\n  routing:\n    squads: [{ id: s1, name: S1 }]\n    defaultSquad: s1\n`,
    path: 'dispatch.kafka.sasl.passwordEnv',
    at: '"hunter2!"',
    message: /NAME of an environment variable/,
  },
  {
    name: 'a misspelt key in an optional discriminated union (a camera\'s sampling) gets its suggestion too',
    yaml: `version: 1\ncameras:\n  - id: a\n    source: { kind: file, path: x.mp4 }\n    sampling: { mode: fps, fpss: 2 }\n`,
    path: 'cameras[0].sampling.fpss',
    at: 'fpss',
    message: /^unknown key 'fpss'; did you mean 'fps'\?$/,
  },
  {
    name: 'unknown key inside a merged x- anchor points at the anchor',
    yaml: `version: 1\nx-rtsp: &rtsp\n  kind: rtsp\n  trasport: tcp\ncameras:\n  - id: a\n    source:\n      <<: *rtsp\n      url: rtsp://10.0.0.1/1\n`,
    path: 'cameras[0].source.trasport',
    at: 'trasport',
    message: /^unknown key 'trasport'; did you mean 'transport'\?$/,
  },
];

describe('parseConfigText: every problem at its line and column', () => {
  it.each(cases)('$name', ({ yaml, path, at, nth, message }) => {
    const issues = issuesOf(yaml);
    const hit = issues.find((i) => i.path === path && message.test(i.message));
    expect(hit, `no issue at ${path} matching ${message}; got:\n${formatIssues(issues)}`).toBeDefined();
    expect({ line: hit!.line, column: hit!.column }).toEqual(where(yaml, at, nth));
    expect(hit!.file).toBe('test.yaml');
  });

  it('reports a misspelt key inside a merged block at the anchor it came from', () => {
    const yaml = `version: 1\ncameras:\n  - id: a\n    source:\n      <<: &rtsp { kind: rtsp, trasport: tcp }\n      url: rtsp://10.0.0.1/1\n`;
    const issues = issuesOf(yaml);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'cameras[0].source.trasport', message: "unknown key 'trasport'; did you mean 'transport'?" });
    expect(issues[0]).toMatchObject(where(yaml, 'trasport'));
  });

  it('ignores top-level x- keys, so they can hold anchors', () => {
    const yaml = `version: 1\nx-cam: &cam { kind: rtsp, transport: udp }\ncameras:\n  - id: a\n    source: { <<: *cam, url: rtsp://10.0.0.1/1 }\n`;
    const { config } = parseConfigText(yaml, 'x.yaml');
    expect(config).not.toHaveProperty('x-cam');
    expect(config.cameras[0]!.source).toMatchObject({ kind: 'rtsp', transport: 'udp' });
    expect(issuesOf(`version: 1\ncameras: []\nnested:\n  x-ok: 1\n`)[0]).toMatchObject({ path: 'nested', message: expect.stringMatching(/^unknown key 'nested'/) });
  });

  it('accepts merge keys', () => {
    const yaml = `version: 1\ncameras:\n  - id: a\n    source: &src { kind: rtsp, url: "rtsp://10.0.0.1/1", transport: udp }\n  - id: b\n    source:\n      <<: *src\n      url: rtsp://10.0.0.2/1\n`;
    const { config } = parseConfigText(yaml, 'm.yaml');
    expect(config.cameras[1]!.source).toEqual({ kind: 'rtsp', url: 'rtsp://10.0.0.2/1', transport: 'udp', timeoutSec: 5 });
  });

  it('lists every issue, in file order, in the error message, ending with what to do', () => {
    const yaml = `version: 2\nbogus: 1\nhttp:\n  port: -1\n`;
    let err: StreetwatchError | undefined;
    try {
      parseConfigText(yaml, 'cfg/site.yaml');
    } catch (e) {
      err = e as StreetwatchError;
    }
    expect(err?.code).toBe('CONFIG_INVALID');
    const lines = err!.message.split('\n');
    expect(lines[0]).toBe('invalid config file cfg/site.yaml (3 problems):');
    expect(lines[1]).toBe('cfg/site.yaml:1:10  version  version must be 1; got number 2');
    expect(lines[2]).toMatch(/^cfg\/site\.yaml:2:1  bogus  unknown key 'bogus'/);
    expect(lines[3]).toBe('cfg/site.yaml:4:9  http.port  must be >= 0; got number -1');
    expect(lines[4]).toMatch(/npx streetwatch validate-config cfg\/site\.yaml/);
    expect(lines).toHaveLength(5);
    expect(err!.details.issues).toHaveLength(3);
  });

  it('never prints a camera password', () => {
    const yaml = camera().replace('url: rtsp://u:p@10.0.0.1/1', 'url: http://admin:S3cretPw@10.0.0.1/1');
    let err: StreetwatchError | undefined;
    try {
      parseConfigText(yaml, 't.yaml');
    } catch (e) {
      err = e as StreetwatchError;
    }
    expect(err?.message).toMatch(/must start with rtsp:\/\//);
    expect(err?.message).not.toContain('S3cretPw');
    expect(JSON.stringify(err?.details)).not.toContain('S3cretPw');
  });

  it('rejects an empty file and a file of several documents', () => {
    expect(issuesOf('# nothing here\n')[0]!.message).toMatch(/the file is empty/);
    const multi = issuesOf('version: 1\n---\nversion: 1\n');
    expect(multi[0]).toMatchObject({ line: 2, message: expect.stringMatching(/more than one YAML document/) });
  });

  it('returns the config with defaults filled, and the absolute file and its folder', () => {
    const loaded = parseConfigText(camera(), 'some/dir/x.yaml');
    expect(loaded.file).toBe(resolve('some/dir/x.yaml'));
    expect(loaded.baseDir).toBe(resolve('some/dir'));
    expect(loaded.text).toBe(camera());
    expect(loaded.config.site.timezone).toBe('Asia/Shanghai');
    expect(loaded.config.defaults.sampling).toEqual({ mode: 'keyframes', minIntervalSec: 4 });
    expect(loaded.config.cameras[0]!.source).toMatchObject({ kind: 'rtsp', transport: 'tcp', timeoutSec: 5 });
    expect(loaded.config.cameras[0]!.zones[0]!.rules).toEqual({ stall: { dwell: 60 } });
  });
});

describe('formatPath and formatIssues', () => {
  it('formats key paths like code', () => {
    expect(formatPath(['cameras', 1, 'source', 'url'])).toBe('cameras[1].source.url');
    expect(formatPath(['dispatch', 'routing', 'cameraJurisdiction', 'cam-7'])).toBe('dispatch.routing.cameraJurisdiction.cam-7');
    expect(formatPath(['dispatch', 'routing', 'cameraJurisdiction', 'hp.cam.7'])).toBe('dispatch.routing.cameraJurisdiction["hp.cam.7"]');
    expect(formatPath([])).toBe('');
  });

  it('prints file:line:column  path  message, one per line', () => {
    const text = formatIssues([
      { file: 'a.yaml', line: 3, column: 5, path: 'http.port', message: 'bad' },
      { file: 'a.yaml', line: 1, column: 1, path: '', message: 'worse' },
    ]);
    expect(text).toBe('a.yaml:3:5  http.port  bad\na.yaml:1:1  (top level)  worse');
  });
});

describe('crossCheckConfig', () => {
  it('is quiet on a good config and works on parsed configs too', () => {
    const { config } = parseConfigText(camera(), 'x.yaml');
    expect(crossCheckConfig(config)).toEqual([]);
    const twice = { ...config, cameras: [config.cameras[0], config.cameras[0]] };
    expect(crossCheckConfig(twice)).toEqual([{ path: ['cameras', 1, 'id'], message: expect.stringContaining("camera id 'cam-a'") }]);
  });

  it('flags a camera whose location and cameraJurisdiction disagree', () => {
    const issues = issuesOf(
      camera('    location: { lat: 31.2, lon: 121.4, jurisdiction: j1 }\n') +
        `dispatch:\n  routing:\n    squads: [{ id: s1, name: S1 }]\n    jurisdictions: [{ id: j1, name: J1, squad: s1 }, { id: j2, name: J2, squad: s1 }]\n    cameraJurisdiction: { cam-a: j2 }\n    defaultSquad: s1\n`,
    );
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['dispatch.routing.cameraJurisdiction.cam-a', "camera 'cam-a' has location.jurisdiction 'j1' but is mapped here to 'j2'; keep one"],
    ]);
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streetwatch-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, camera());
    const loaded = await loadConfig(file);
    expect(loaded.file).toBe(file);
    expect(loaded.baseDir).toBe(dir);
    expect(loaded.config.cameras.map((c) => c.id)).toEqual(['cam-a']);
  });

  it('names a missing file with CONFIG_NOT_FOUND', async () => {
    const file = join(dir, 'nope.yaml');
    await expect(loadConfig(file)).rejects.toMatchObject({ code: 'CONFIG_NOT_FOUND', message: expect.stringContaining(file) });
    await expect(loadConfig(dir)).rejects.toMatchObject({ code: 'CONFIG_NOT_FOUND', message: expect.stringContaining('directory') });
  });

  it('reports issues against the name it was given', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'version: 1\nhttp: { prot: 1 }\n');
    await expect(loadConfig(file)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      details: { issues: [{ file, line: 2, column: 9, path: 'http.prot', message: "unknown key 'prot'; did you mean 'port'?" }] },
    });
  });
});

describe('the shipped configs', () => {
  it('config/demo.yaml: the looped demo scene at 2 fps with a zone of each enforcement kind', async () => {
    const { config, baseDir } = await loadConfig(join(PROJECT_ROOT, 'config/demo.yaml'));
    expect(resolve(baseDir, config.storage.dataDir)).toBe(join(PROJECT_ROOT, 'data/demo'));
    expect(config.http.port).toBe(8080);
    expect(config.cameras).toHaveLength(1);
    const cam = config.cameras[0]!;
    expect(cam.id).toBe('oxford-demo');
    // where `streetwatch demo` builds the scene (DEMO_SCENE_DIR); realtime, as the scheduler drops frames of a file read flat out
    expect(cam.source).toEqual({ kind: 'file', path: '../data/demo/scene/video.mp4', loop: true, realtime: true });
    expect(resolve(baseDir, (cam.source as { path: string }).path)).toBe(join(PROJECT_ROOT, 'data/demo/scene/video.mp4'));
    expect(cam.sampling).toEqual({ mode: 'fps', fps: 2 });
    const kinds = cam.zones.map((z) => z.kind);
    expect(kinds).toEqual(expect.arrayContaining(['shopfront', 'no_stacking', 'no_vending']));
    const shopfront = cam.zones.find((z) => z.kind === 'shopfront')!;
    expect(shopfront.shop?.name).toBeTruthy();
    expect(shopfront.rules?.door_front?.dwell).toBeGreaterThan(0);
    expect(config.dispatch?.routing.defaultSquad).toBe('demo-squad');
  });

  it('config/demo.yaml: console tokens of each role, and a plan image whose bounds hold the camera', async () => {
    const { config, baseDir } = await loadConfig(join(PROJECT_ROOT, 'config/demo.yaml'));
    const squads = config.dispatch!.routing.squads.map((s) => s.id);
    expect(config.console.tokens.map((t) => t.role).sort()).toEqual(['admin', 'command', 'squad:demo-squad']);
    expect(squads).toContain('demo-squad');
    expect(new Set(config.console.tokens.map((t) => t.token)).size).toBe(3);
    const { image, bounds } = config.console.plan;
    expect(image).toBe('demo-plan.svg');
    expect(existsSync(resolve(baseDir, image!))).toBe(true);
    const { lat, lon } = config.cameras[0]!.location!;
    expect(lon).toBeGreaterThan(bounds!.west);
    expect(lon).toBeLessThan(bounds!.east);
    expect(lat).toBeGreaterThan(bounds!.south);
    expect(lat).toBeLessThan(bounds!.north);
  });

  it('config/demo-scene.yaml: the demo camera and zones, one violation of each kind standing in its zone long enough', async () => {
    const { config } = await loadConfig(join(PROJECT_ROOT, 'config/demo.yaml'));
    const { spec } = await loadScenarioSpec(join(PROJECT_ROOT, 'config/demo-scene.yaml'));
    const cam = config.cameras[0]!;
    expect(spec.camera.id).toBe(cam.id);
    expect(spec.background).toBe('asset:oxford_towncentre_pedestrians.mp4');
    // the scene places its objects in these zones: a zone edited in one file only would move them out of it
    expect(spec.camera.zones).toEqual(cam.zones);
    const items = spec.objects.filter((o) => o.truth);
    expect(items.map((o) => o.truth!.type).sort()).toEqual(['door_front', 'stacking', 'stall']);
    for (const o of items) {
      const zone = cam.zones.find((z) => z.id === o.truth!.zone)!;
      expect(zone.rules?.[o.truth!.type], o.truth!.type).toBeDefined();
      expect(pointInPolygon(o.at, zone.polygon!), o.truth!.type).toBe(true);
      const masked = cam.zones.filter((z) => z.kind === 'mask').some((m) => pointInPolygon(o.at, m.polygon!));
      expect(masked, o.truth!.type).toBe(false);
      // confirmed within a minute of the scene's start, and standing well past the confirmation
      expect(o.appear + zone.rules![o.truth!.type]!.dwell).toBeLessThanOrEqual(60);
      expect(o.leave - o.appear).toBeGreaterThan(zone.rules![o.truth!.type]!.dwell + 60);
      expect(o.leave).toBeLessThan(spec.duration);
    }
  });

  it('config/example.yaml: every source kind, every zone kind, Kafka with TLS and SASL by env var name', async () => {
    const { config } = await loadConfig(join(PROJECT_ROOT, 'config/example.yaml'));
    const sources = config.cameras.map((c) => (c.source.kind === 'vehicle' ? `vehicle/${c.source.video.kind}/${c.source.telemetry.format}` : c.source.kind));
    expect(sources).toEqual(expect.arrayContaining(['rtsp', 'file', 'vehicle/rtsp/nmea']));
    const rtsp = config.cameras.find((c) => c.source.kind === 'rtsp')!;
    expect(rtsp.source.kind === 'rtsp' && rtsp.source.url).toMatch(/^rtsp:\/\/[^:]+:[^@]+@/);
    const kinds = new Set(config.cameras.flatMap((c) => c.zones.map((z) => z.kind)));
    expect([...kinds].sort()).toEqual(['legal_stall', 'mask', 'no_stacking', 'no_vending', 'shopfront']);
    const vehicle = config.cameras.find((c) => c.source.kind === 'vehicle')!;
    expect(vehicle.zones.filter((z) => z.kind !== 'mask').every((z) => z.geofence && !z.polygon)).toBe(true);
    const kafka = config.dispatch?.kafka;
    expect(kafka?.tls?.enabled).toBe(true);
    expect(kafka?.sasl).toEqual({ mechanism: 'scram-sha-512', usernameEnv: 'STREETWATCH_KAFKA_USER', passwordEnv: 'STREETWATCH_KAFKA_PASSWORD' });
    expect(Object.values(kafka!.topics).every((t) => typeof t === 'string' && t.length > 0)).toBe(true);
    expect(config.dispatch?.routing.squads.length).toBeGreaterThan(0);
  });
});
