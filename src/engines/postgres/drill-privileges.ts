import { readIdentifier, readQualifiedName, sqlLineTracker } from './dump-lines.js'
import { quoteIdent } from './figure-queries.js'
import { listNames, type PrivilegeTarget } from './privileges.js'
import type { DumpRewriter } from './drill-rewriters.js'
import { compareText } from '../../util/text-order.js'

/**
 * The drill's privilege operators: drop-grant removes one GRANT from the dump, change-owner gives
 * one table another owner. Both restore cleanly, so it is the owner and ACL comparison that has
 * to notice. Pure: plans from production's catalog, rewriters over a plain dump's lines.
 */

/** What the privilege operators need to know, read when owners and privileges are restored. */
export interface PrivilegeCatalog {
  objects: PrivilegeTarget[]
  /** Roles the clean room has for this restore (created or existing). */
  roles: string[]
  /** A role of Lazarus's own to hand a table to when production names no second role. */
  drillRole: string
}

/** What a privilege operator corrupts and which difference must name it. */
export interface PrivilegePlan {
  target: string
  difference: { kind: 'owner' | 'privileges'; name: string }
  rewriter: DumpRewriter
  /** A role the copy's restore needs that the backup's did not (change-owner's drill role). */
  extraRole?: string
}

/** The first table, then sequence or view, then schema whose ACL grants something beyond its owner. */
export function planDropGrant(catalog: PrivilegeCatalog): PrivilegePlan | undefined {
  const rank = (object: PrivilegeTarget) => (object.table ? 0 : object.keyword === 'SCHEMA' ? 2 : 1)
  const target = catalog.objects
    .filter(object => object.grantsToOthers)
    .sort((a, b) => rank(a) - rank(b) || compareText(a.identity, b.identity))[0]
  if (!target) return undefined
  return {
    target: `privileges on ${target.identity}`,
    difference: { kind: 'privileges', name: target.identity },
    rewriter: dropGrantRewriter(target)
  }
}

/**
 * The first table (those without serial sequences first), given to another role the clean room
 * has, or to Lazarus's drill role; its serial sequences follow it, or the restore would refuse
 * to link them.
 */
export function planChangeOwner(catalog: PrivilegeCatalog): PrivilegePlan | undefined {
  const table = catalog.objects
    .filter(object => object.table)
    .sort(
      (a, b) => Number(a.ownedSequences.length > 0) - Number(b.ownedSequences.length > 0) || compareText(a.identity, b.identity)
    )[0]
  if (!table) return undefined
  // A name without line breaks reads better in the evidence; any other role will do.
  const candidates = catalog.roles.filter(role => role !== table.owner && !role.startsWith('pg_'))
  const other = candidates.find(role => !/[\r\n]/.test(role)) ?? candidates[0]
  const newOwner = other ?? catalog.drillRole
  return {
    target: `owner of ${table.identity}`,
    difference: { kind: 'owner', name: table.identity },
    rewriter: changeOwnerRewriter(table, newOwner),
    ...(other ? {} : { extraRole: newOwner })
  }
}

/** A complete one-line statement: it ends with `;` outside any quoted identifier. */
function completeStatement(line: string): boolean {
  return line.endsWith(';') && (line.match(/"/g)?.length ?? 0) % 2 === 0
}

/** Reads `ON <KEYWORD> name` (qualified unless a schema) at `at`; the object's unquoted names and where it ends. */
function readObject(line: string, at: number, keyword: string): { schema: string | null; name: string; end: number } | undefined {
  const prefix = ` ON ${keyword} `
  if (!line.startsWith(prefix, at)) return undefined
  const start = at + prefix.length
  if (keyword === 'SCHEMA') {
    const name = readIdentifier(line, start)
    return name ? { schema: null, name: name.value, end: name.end } : undefined
  }
  return readQualifiedName(line, start)
}

/** A GRANT longer than this many lines is not pg_dump's (names are at most 63 bytes): its lines pass on. */
const MAX_GRANT_LINES = 1000

/**
 * Removes the first `GRANT privileges ON KIND name TO grantee;` of the target, as pg_dump writes
 * each grant: one statement per grantee, on one line, or on several when a name (the role's, the
 * object's, a column's) holds a line break: such a statement's lines are held until it ends.
 */
export function dropGrantRewriter(target: Pick<PrivilegeTarget, 'keyword' | 'schema' | 'name'>): DumpRewriter {
  const isSql = sqlLineTracker()
  let lineNumber = 0
  let evidence: string | undefined
  let held: { lines: string[]; first: number } | undefined
  const isTargetGrant = (statement: string): boolean => {
    // The privileges (with column lists) come before ON; names cannot hide " ON " before it.
    const on = statement.indexOf(` ON ${target.keyword} `)
    if (on < 0 || statement.slice(0, on).includes('"')) return false
    const object = readObject(statement, on, target.keyword)
    return !!object && object.schema === target.schema && object.name === target.name && statement.startsWith(' TO ', object.end)
  }
  const consider = (lines: string[], first: number): string[] => {
    const statement = lines.join('\n')
    if (!isTargetGrant(statement)) return lines
    evidence = `${statement.slice(0, -1).replace(/\n/g, '\\n')} removed from the dump (line ${first})`
    return []
  }
  return {
    push(line) {
      lineNumber++
      if (held) {
        isSql(line)
        held.lines.push(line)
        if (completeStatement(held.lines.join('\n'))) {
          const { lines, first } = held
          held = undefined
          return consider(lines, first)
        }
        if (held.lines.length < MAX_GRANT_LINES) return []
        const { lines } = held
        held = undefined
        return lines
      }
      if (!isSql(line) || evidence !== undefined || !line.startsWith('GRANT ')) return [line]
      if (completeStatement(line)) return consider([line], lineNumber)
      held = { lines: [line], first: lineNumber }
      return []
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

/**
 * Rewrites `ALTER TABLE schema.table OWNER TO role;` to name `newOwner`, and the same statement
 * for the sequences its serial columns own (pg_dump writes ALTER TABLE for sequences too).
 */
export function changeOwnerRewriter(
  table: Pick<PrivilegeTarget, 'schema' | 'name' | 'ownedSequences'>,
  newOwner: string
): DumpRewriter {
  const followers = table.ownedSequences.map(sequence => `${sequence.schema}\u0000${sequence.name}`)
  const isSql = sqlLineTracker()
  let lineNumber = 0
  let evidence: string | undefined
  const prefix = 'ALTER TABLE '
  return {
    push(line) {
      lineNumber++
      if (!isSql(line) || !line.startsWith(prefix) || !completeStatement(line)) return [line]
      const name = readQualifiedName(line, prefix.length)
      if (!name || !line.startsWith(' OWNER TO ', name.end)) return [line]
      const isTable = evidence === undefined && name.schema === table.schema && name.name === table.name
      if (!isTable && !followers.includes(`${name.schema}\u0000${name.name}`)) return [line]
      const head = line.slice(0, name.end + ' OWNER TO '.length)
      if (isTable) evidence = `owner changed from ${line.slice(head.length, -1)} to ${listNames([newOwner])} (line ${lineNumber})`
      return [`${head}${quoteIdent(newOwner)};`]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}
