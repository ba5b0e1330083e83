import type { TableName } from '../../util/table-name.js'
import { qualifiedName } from './figure-queries.js'
import type { Queryable } from './queryable.js'

/**
 * Reading every row of a restored table whose row-level security is forced.
 *
 * Every session pins `row_security = off` (PINNED_SETTINGS), so a read that a policy would filter
 * fails instead of silently counting fewer rows. That is what pg_dump does too, so production's
 * side never needs more: a role pg_dump could dump with bypasses the policies. The restored copy
 * is another matter. A clean-room role that is not a superuser owns what it restored (the dump
 * is restored without owners), and `ALTER TABLE ... FORCE ROW LEVEL SECURITY` subjects even the
 * owner to the policies: a faithful backup of a multi-tenant table would count as short. Such a
 * table is read in a transaction that lifts FORCE from it (the owner may) and is rolled back:
 * the scratch database is Lazarus's own, and it is left exactly as restored, for the schema
 * comparison to see FORCE. A superuser or BYPASSRLS role is not subject to policies at all, and
 * only a superuser could have restored event triggers, which an ALTER TABLE would fire.
 */

/** Forced-RLS tables of the connected database that the connected role is subject to and may alter. */
const FORCED_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relrowsecurity AND c.relforcerowsecurity AND c.relkind IN ('r', 'p')
  AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
  AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)`

const forcedTables = new WeakMap<Queryable, Promise<Set<string>>>()

function key(table: TableName): string {
  return `${table.schema}\u0000${table.name}`
}

/** The restored copy does not change while it is verified: its forced tables are read once per session. */
function forcedTablesOf(db: Queryable): Promise<Set<string>> {
  let found = forcedTables.get(db)
  if (!found) {
    found = db.query<TableName>(FORCED_TABLES_SQL).then(rows => new Set(rows.map(key)))
    forcedTables.set(db, found)
  }
  return found
}

/** The statements that lift FORCE from the given tables, for the length of a transaction. */
export function liftForceSql(tables: TableName[]): string {
  return tables.map(table => `ALTER TABLE ONLY ${qualifiedName(table)} NO FORCE ROW LEVEL SECURITY;`).join('\n')
}

/**
 * Runs `read` (queries on `db`, outside any transaction) so that it sees every row of `tables`:
 * as it is when none of them forces row-level security on the connected role, and otherwise in a
 * transaction that lifts FORCE from those that do and is then rolled back.
 */
export async function readingEveryRow<T>(db: Queryable, tables: TableName[], read: () => Promise<T>): Promise<T> {
  const forced = await forcedTablesOf(db)
  const lift = tables.filter(table => forced.has(key(table)))
  if (lift.length === 0) return read()
  await db.query('BEGIN')
  try {
    await db.query(liftForceSql(lift))
    return await read()
  } finally {
    await db.query('ROLLBACK')
  }
}
