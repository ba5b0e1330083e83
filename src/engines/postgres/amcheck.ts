import { UserError, messageOf } from '../../util/errors.js'
import { quoteIdent, userNamespaceSql } from './figure-queries.js'
import { mapPool } from '../../util/pool.js'
import type { Queryable } from './queryable.js'
import type { AmcheckFinding, AmcheckResult } from '../types.js'

/**
 * amcheck on the restored copy: every B-tree index with bt_index_check(heapallindexed), and on
 * PostgreSQL 14 or later every table with verify_heapam. Restored pages are written by the clean
 * room itself, so this proves its storage and the restore's index builds, which no comparison
 * with production can: a copy whose index lost entries answers some queries wrongly and still
 * has matching checksums (those read the heap). Production is never checked.
 */

/** SQLSTATEs amcheck (and the buffer manager, for a page that fails its checksum) raise for corruption. */
const CORRUPTION_CODES = new Set(['XX001', 'XX002'])
const INSUFFICIENT_PRIVILEGE = '42501'
/** Findings kept per table: the first few say where, the count says how much. */
const FINDINGS_PER_TABLE = 5

/**
 * Creates amcheck in the scratch database (in a schema of its own, unless the restored copy
 * already has it) and returns the schema its functions live in. Throws a UserError saying what
 * to fix when the clean room lacks the extension or the role may not create it.
 */
export async function installAmcheck(session: Queryable): Promise<string> {
  const available = await session.query("SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'amcheck'")
  if (available.length === 0) {
    throw new UserError(
      "The clean room does not have the amcheck extension (input 'amcheck' is true): install PostgreSQL's contrib " +
        'modules on the clean-room server (Debian: postgresql-contrib; the official postgres images have them), or set amcheck to false.'
    )
  }
  const existing = await extensionSchema(session)
  if (existing) return existing
  try {
    await session.query('CREATE SCHEMA IF NOT EXISTS lazarus_amcheck')
    await session.query('CREATE EXTENSION amcheck SCHEMA lazarus_amcheck')
  } catch (error) {
    if ((error as { code?: string }).code === INSUFFICIENT_PRIVILEGE) {
      throw new UserError(
        `Could not create the amcheck extension in the scratch database: ${messageOf(error)}. ` +
          "amcheck needs a superuser on the clean room: connect 'cleanroom-url' as one, or set amcheck to false."
      )
    }
    throw error
  }
  return (await extensionSchema(session))!
}

async function extensionSchema(session: Queryable): Promise<string | undefined> {
  const rows = await session.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'amcheck'`
  )
  return rows[0]?.schema
}

/**
 * The copy's own tables and materialized views, and every valid B-tree index on them or on their
 * toast tables (the catalogs' own toast tables are the clean room's business, not the backup's).
 */
const RELATIONS_SQL = `
WITH tables AS (
  SELECT c.oid, c.relkind, c.reltoastrelid FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' AND ${userNamespaceSql('n')}
)
SELECT c.oid::pg_catalog.regclass::pg_catalog.text AS name, c.oid::pg_catalog.text AS oid,
       CASE WHEN c.relkind = 'i' THEN 'index' ELSE 'table' END AS kind
FROM pg_catalog.pg_class c
LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
WHERE c.oid IN (SELECT oid FROM tables)
   OR (c.relkind = 'i' AND c.relam = (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'btree')
       AND i.indisvalid AND i.indisready
       AND i.indrelid IN (SELECT oid FROM tables UNION ALL SELECT reltoastrelid FROM tables))
ORDER BY pg_catalog.pg_relation_size(c.oid) DESC`

/**
 * Checks every index (and, on PostgreSQL 14+, table) of the connected database, on as many
 * sessions as given, all in the database amcheck was installed in.
 */
export async function runAmcheck(sessions: Queryable[], schema: string, major: number): Promise<AmcheckResult> {
  const relations = await sessions[0].query<{ name: string; oid: string; kind: 'index' | 'table' }>(RELATIONS_SQL)
  const heapChecked = major >= 14
  const targets = relations.filter(relation => relation.kind === 'index' || heapChecked)
  const fn = (name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`
  const perRelation = await mapPool(sessions, targets, async (session, relation): Promise<AmcheckFinding[]> => {
    if (relation.kind === 'index') {
      try {
        await session.query(
          `SELECT ${fn('bt_index_check')}(index => $1::pg_catalog.oid::pg_catalog.regclass, heapallindexed => true)`,
          [relation.oid]
        )
        return []
      } catch (error) {
        return [corruption(relation, error)]
      }
    }
    try {
      const rows = await session.query<{
        blkno: string
        offnum: number | null
        attnum: number | null
        msg: string
        total: string
      }>(
        `SELECT blkno::pg_catalog.text AS blkno, offnum, attnum, msg, pg_catalog.count(*) OVER ()::pg_catalog.text AS total
         FROM ${fn('verify_heapam')}(relation => $1::pg_catalog.oid::pg_catalog.regclass, check_toast => true)
         LIMIT ${FINDINGS_PER_TABLE}`,
        [relation.oid]
      )
      return rows.map((row, index) => {
        const where = [
          `block ${row.blkno}`,
          row.offnum === null ? '' : `offset ${row.offnum}`,
          row.attnum === null ? '' : `attribute ${row.attnum}`
        ]
        const more =
          index === rows.length - 1 && Number(row.total) > rows.length ? ` (${Number(row.total) - rows.length} more)` : ''
        return { kind: 'table', name: relation.name, message: `${where.filter(Boolean).join(', ')}: ${row.msg}${more}` }
      })
    } catch (error) {
      return [corruption(relation, error)]
    }
  })
  return {
    indexes: targets.filter(relation => relation.kind === 'index').length,
    tables: targets.filter(relation => relation.kind === 'table').length,
    heapChecked,
    findings: perRelation.flat()
  }
}

/** An error amcheck raised for corruption is a finding; any other error ends the run. */
function corruption(relation: { name: string; kind: 'index' | 'table' }, error: unknown): AmcheckFinding {
  if (!CORRUPTION_CODES.has((error as { code?: string }).code ?? '')) throw error
  return { kind: relation.kind, name: relation.name, message: messageOf(error) }
}
