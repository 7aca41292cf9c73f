import type { CodeTable } from '../../config/dispatch.js';
import type { RuleId } from '../../config/zones.js';

/**
 * 数字城管 event-category codes (部件和事件分类代码) for the three violations streetwatch detects, one table per
 * standard; `dispatch.codeTable` chooses the table. A squad's case system files a ticket under this code, so a
 * wrong code misfiles a case: every entry says where it comes from and whether that is confirmed.
 *
 * `confirmed: true` means the code AND name were given by the project's issue 5 (the bureau's requirement text)
 * and agree with an independent public listing of the category tree; `false` means at least one of the two is
 * missing or the sources disagree — the entry's `note` says which. Nobody on the project has read the
 * standards' full text (they are sold, not published), so re-check the unconfirmed entries against the
 * purchased text before a district relies on them; changing an entry is a one-line change here.
 */

export interface CodeEntry {
  /** The category code as the standard writes it: 4 digits (GB/T 30428.2-2013), 5 digits (GB/T 47678.5-2026). */
  code: string;
  /** The category's Chinese name as the standard writes it. */
  name: string;
  /** The standard the code belongs to (a fallback entry may come from another table than the one chosen). */
  standard: string;
  /** Where the code and name were taken from. */
  source: string;
  confirmed: boolean;
  /** Why an entry is unconfirmed, or what the sources disagree about. */
  note?: string;
}

/** The standard each config table id stands for. */
export const STANDARD_NAMES: Record<CodeTable, string> = {
  'gbt30428.2-2013': 'GB/T 30428.2-2013',
  'gbt47678.5-2026': 'GB/T 47678.5-2026',
};

const GBT30428 = STANDARD_NAMES['gbt30428.2-2013'];
const GBT47678 = STANDARD_NAMES['gbt47678.5-2026'];

const ISSUE = 'streetwatch issue 5 (bureau requirement text)';
/**
 * The independent listing: a public GitHub source file holding the 事件 category tree of the 数字城管 standard
 * as {id, name, parentId} entries, found by a code search on 2026-11-27. Under parent 5 (街面秩序) it lists
 * 1 无照经营游商, 2 流浪乞讨, 3 占道废品收购, 4 店外经营, 5 机动车乱停放, 6 非机动车乱停放, 7 乱堆物料堆, 8 商业噪音 …
 * The search did not reveal the repository's name, so it is cited by content, not by address.
 */
const PUBLIC_TREE = 'public 数字城管 事件 category tree (街面秩序 = 05; a GitHub source file, repository not identified)';

/**
 * GB/T 30428.2-2013 数字化城市管理信息系统 第2部分：管理部件和事件. Event codes are 大类 (2 digits) + 小类
 * (2 digits); 街面秩序 is 大类 05.
 */
const TABLE_30428: Record<RuleId, CodeEntry> = {
  stall: {
    code: '0501',
    name: '无照经营游商',
    standard: GBT30428,
    source: `${ISSUE}; ${PUBLIC_TREE}: 05-01 无照经营游商`,
    confirmed: true,
  },
  door_front: {
    code: '0504',
    name: '店外经营',
    standard: GBT30428,
    source: `${ISSUE}; ${PUBLIC_TREE}: 05-04 店外经营`,
    confirmed: true,
  },
  stacking: {
    code: '0507',
    name: '乱堆物料',
    standard: GBT30428,
    source: `${ISSUE}; ${PUBLIC_TREE}: 05-07 乱堆物料堆`,
    confirmed: true,
    // The code agrees; the name does not quite: the public listing writes 乱堆物料堆, the issue 乱堆物料
    // (other deployments write 乱堆物堆料). We keep the issue's wording.
    note: 'name variants in public sources: 乱堆物料堆, 乱堆物堆料; code 0507 agrees',
  },
};

/**
 * GB/T 47678.5-2026, the announced successor, with 5-digit codes. Only two of its codes are known to the
 * project, both from the issue text: 09005 店外经营 and 09006 占道经营.
 */
const TABLE_47678: Record<RuleId, CodeEntry> = {
  door_front: {
    code: '09005',
    name: '店外经营',
    standard: GBT47678,
    source: `${ISSUE}: "09005 店外经营"`,
    // Named outright by the issue for exactly this violation; no independent public listing was found.
    confirmed: false,
    note: 'from the issue text only; no public listing of GB/T 47678.5-2026 found to corroborate it',
  },
  stall: {
    code: '09006',
    name: '占道经营',
    standard: GBT47678,
    source: `${ISSUE}: "09006 占道经营"`,
    confirmed: false,
    // 占道经营 is trading that occupies the road; whether the new standard files a mobile vendor (游商) under it
    // or keeps a separate 无照经营游商 category (as 30428.2 did with 0501) is not known.
    note: 'mobile vendors may have their own category in GB/T 47678.5-2026; 09006 is the closest code known',
  },
  stacking: {
    // No GB/T 47678.5-2026 code for stacking is known to the project, and inventing a 5-digit number would
    // misfile cases silently. The ticket therefore carries the 30428.2 code and says so in violation.standard,
    // so a receiving system sees which table the code is from.
    ...TABLE_30428.stacking,
    confirmed: false,
    note: 'no GB/T 47678.5-2026 code known for stacking: falls back to GB/T 30428.2-2013 0507',
  },
};

export const CODE_TABLE_ENTRIES: Record<CodeTable, Readonly<Record<RuleId, CodeEntry>>> = {
  'gbt30428.2-2013': TABLE_30428,
  'gbt47678.5-2026': TABLE_47678,
};

/** The code entry for a violation in the configured table. */
export function violationCode(table: CodeTable, type: RuleId): CodeEntry {
  return CODE_TABLE_ENTRIES[table][type];
}
