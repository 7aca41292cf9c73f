import { describe, expect, it } from 'vitest';
import { CODE_TABLES } from '../../../../config/dispatch.js';
import { RULE_IDS } from '../../../../config/zones.js';
import { CODE_TABLE_ENTRIES, STANDARD_NAMES, violationCode } from '../../../../dispatcher/ticket/codes.js';

describe('code tables', () => {
  it.each<[string, string, string, string, boolean]>([
    ['gbt30428.2-2013', 'stall', '0501', '无照经营游商', true],
    ['gbt30428.2-2013', 'door_front', '0504', '店外经营', true],
    ['gbt30428.2-2013', 'stacking', '0507', '乱堆物料', true],
    ['gbt47678.5-2026', 'door_front', '09005', '店外经营', false],
    ['gbt47678.5-2026', 'stall', '09006', '占道经营', false],
    ['gbt47678.5-2026', 'stacking', '0507', '乱堆物料', false],
  ])('%s %s → %s %s (confirmed %s)', (table, type, code, name, confirmed) => {
    const e = violationCode(table as (typeof CODE_TABLES)[number], type as (typeof RULE_IDS)[number]);
    expect({ code: e.code, name: e.name, confirmed: e.confirmed }).toEqual({ code, name, confirmed });
  });

  it('every table covers every violation, with a source; unconfirmed entries say why', () => {
    for (const table of CODE_TABLES) {
      for (const type of RULE_IDS) {
        const e = CODE_TABLE_ENTRIES[table][type];
        expect(e.source.length).toBeGreaterThan(10);
        if (!e.confirmed) expect(e.note, `${table} ${type}`).toBeTruthy();
        // A code has the digit count of the standard it claims to be from.
        expect(e.code).toMatch(e.standard === 'GB/T 30428.2-2013' ? /^05\d\d$/ : /^\d{5}$/);
      }
    }
  });

  it('the 47678.5 stacking fallback names the standard its code really comes from', () => {
    const e = violationCode('gbt47678.5-2026', 'stacking');
    expect(e.standard).toBe(STANDARD_NAMES['gbt30428.2-2013']);
    expect(violationCode('gbt47678.5-2026', 'door_front').standard).toBe('GB/T 47678.5-2026');
  });
});
