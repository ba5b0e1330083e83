import { AGGREGATE_DEFINITION_SQL } from './catalog-kinds.js'
import { quoteIdent } from './figure-queries.js'
import { privilegeDeltasSql } from './privileges.js'
import type { Queryable } from './queryable.js'
import { withPinnedCatalogSettings, type SchemaDifference } from './schema-fingerprint.js'

/**
 * Across server majors, the same object reads differently: its fingerprint is text that the
 * server's own deparser prints (pg_get_viewdef, pg_get_functiondef, regprocedure...) or that
 * follows from the server's catalog defaults (acldefault), and those change between majors.
 * PostgreSQL 16 prints a single-table view's columns without the table's name, 14 prints a
 * procedure's arguments with IN, 14 made array_append anycompatible, 17 gives every owner
 * MAINTAIN. A difference between production and a clean room of another major is therefore
 * settled by the clean room itself, never by rewriting text: production's definition is
 * recreated inside the restored scratch database (in a transaction that is always rolled
 * back, in a schema of Lazarus's own, so nothing stays) and read back through the clean room's
 * deparser, and so is the restored copy's; the difference goes only when both read the same.
 * A corruption survives this: what production's text means in the clean room is compared with
 * what the restored copy means there. Privileges are compared as pg_dump restores them: what
 * each side adds to or takes from its own server's default ACL. Only used when the majors differ.
 */

/** The kinds whose text a server's deparser prints, and which the clean room can recreate. */
const RECREATED_KINDS = new Set(['view', 'materialized view', 'function'])
/** Kinds compared as changes to the server's default ACL. */
const ACL_KINDS = new Set(['privileges', 'default privileges'])

/** Lazarus's own schema inside the scratch database, for the length of one rolled-back savepoint. */
const SCRATCH_SCHEMA = 'lazarus_deparse'

export interface CrossMajorSides {
  /** Production's session, inside its snapshot; used only to read (under a savepoint). */
  production: Queryable & { withSavepoint<T>(work: () => Promise<T>): Promise<T> }
  /** A session on the restored scratch database, outside any transaction. */
  restored: Queryable
  /** Stand-ins in the restored copy, by name, to the production role each plays (cleanroom-roles.ts). */
  standIns?: ReadonlyMap<string, string>
}

/**
 * Removes the differences that only the two servers' majors make: each one whose production
 * and restored definitions, recreated in the clean room, read the same there. The others stay
 * as they were, with the texts each server printed.
 */
export async function settleAcrossMajors(sides: CrossMajorSides, differences: SchemaDifference[]): Promise<SchemaDifference[]> {
  const [{ num }] = await sides.restored.query<{ num: string }>("SELECT pg_catalog.current_setting('server_version_num') AS num")
  differences = withoutSanitizedClauses(differences, Math.floor(Number(num) / 10000))
  const recreated = differences.filter(d => d.production !== null && d.restored !== null && RECREATED_KINDS.has(d.kind))
  const acls = differences.filter(d => d.production !== null && d.restored !== null && ACL_KINDS.has(d.kind))
  const settled = new Set<SchemaDifference>()
  if (recreated.length > 0) {
    for (const difference of await sameInCleanRoom(sides, recreated)) settled.add(difference)
  }
  if (acls.length > 0) {
    for (const difference of await sameAclChanges(sides, acls)) settled.add(difference)
  }
  const owners = differences.filter(d => d.kind === 'owner' && d.name === 'schema public')
  if (owners.length > 0) {
    for (const difference of await sameInitialOwner(sides, owners)) settled.add(difference)
  }
  return differences.filter(difference => !settled.has(difference))
}

/**
 * The sanitizer's faithful rewrites (skew-catalogue.ts), applied to production's side of a
 * difference: a column's compression method (PostgreSQL 14+) is removed for a clean room before
 * 14, where every value is stored with pglz, so it is not compared there. The report lists the
 * rule (`column-compression`) among what was sanitized. Pure.
 */
export function withoutSanitizedClauses(differences: SchemaDifference[], cleanroomMajor: number): SchemaDifference[] {
  if (cleanroomMajor >= 14) return differences
  return differences.filter(difference => {
    if (difference.kind !== 'column settings' || difference.production === null) return true
    const production = difference.production.replace(/(^| )COMPRESSION [a-z0-9]+(?= |$)/, '').trim()
    return production !== (difference.restored ?? '')
  })
}

/** The differences whose two definitions the clean room recreates alike. */
async function sameInCleanRoom(sides: CrossMajorSides, differences: SchemaDifference[]): Promise<SchemaDifference[]> {
  // Aggregates are recreated from each side's catalog (pg_dump's CREATE AGGREGATE, by name).
  const aggregates = differences.filter(d => d.kind === 'function' && d.production?.startsWith('AGGREGATE'))
  const aggregateNames = aggregates.map(d => d.name)
  const productionAggregates = aggregateNames.length
    ? await sides.production.withSavepoint(() => readAggregateStatements(sides.production, aggregateNames))
    : new Map<string, string>()
  const restoredAggregates = aggregateNames.length ? await readAggregateStatements(sides.restored, aggregateNames) : new Map()

  const same: SchemaDifference[] = []
  const db = sides.restored
  await withPinnedCatalogSettings(db, async () => {
    await db.query('BEGIN')
    try {
      // Bodies are not checked when recreated, as pg_dump's restore does not check them.
      await db.query("SELECT pg_catalog.set_config('check_function_bodies', 'off', true)")
      for (const difference of differences) {
        const recreate = (definition: string, aggregate: string | undefined) =>
          recreateInCleanRoom(db, difference.kind, difference.name, definition, aggregate)
        const production = await recreate(difference.production!, productionAggregates.get(difference.name))
        const restored = await recreate(difference.restored!, restoredAggregates.get(difference.name))
        if (production !== undefined && production === restored) same.push(difference)
      }
    } finally {
      await db.query('ROLLBACK')
    }
  })
  return same
}

/**
 * Recreates one object in Lazarus's scratch schema from its definition and reads it back as the
 * fingerprint prints it there; undefined when the clean room cannot recreate it (the difference
 * then stands). Runs under a savepoint that is always rolled back.
 */
async function recreateInCleanRoom(
  db: Queryable,
  kind: string,
  name: string,
  definition: string,
  aggregate: string | undefined
): Promise<string | undefined> {
  await db.query('SAVEPOINT lazarus_deparse')
  try {
    await db.query(`CREATE SCHEMA ${SCRATCH_SCHEMA}`)
    if (kind === 'view' || kind === 'materialized view') return await recreateView(db, definition)
    if (definition.startsWith('AGGREGATE')) return aggregate === undefined ? undefined : await recreateAggregate(db, aggregate)
    return await recreateFunction(db, name, definition)
  } catch {
    return undefined
  } finally {
    await db.query('ROLLBACK TO SAVEPOINT lazarus_deparse')
  }
}

/** A statement built from a side's own text, run as one statement only (the extended protocol refuses more). */
async function runOne(db: Queryable, sql: string): Promise<void> {
  const extended = db as Queryable & { queryExtended?: (sql: string) => Promise<unknown> }
  if (!extended.queryExtended) throw new Error('a session that runs one statement at a time is needed')
  await extended.queryExtended(sql)
}

/**
 * A view's or materialized view's definition: `[WITH (options) ]query;[ WITH NO DATA]` (see
 * VIEWS_SQL). The query is recreated as a view and printed by the clean room; the options and
 * the populated state are compared as they are.
 */
export function splitViewDefinition(definition: string): { before: string; query: string; after: string } | undefined {
  const match = /^(WITH \([^()]*\) )?([\s\S]*;)( WITH NO DATA)?$/.exec(definition)
  if (!match) return undefined
  return { before: match[1] ?? '', query: match[2], after: match[3] ?? '' }
}

async function recreateView(db: Queryable, definition: string): Promise<string | undefined> {
  const parts = splitViewDefinition(definition)
  if (!parts) return undefined
  await runOne(db, `CREATE VIEW ${SCRATCH_SCHEMA}.recreated AS ${parts.query.replace(/;$/, '')}`)
  const [row] = await db.query<{ query: string }>(
    `SELECT ltrim(pg_catalog.pg_get_viewdef('${SCRATCH_SCHEMA}.recreated'::pg_catalog.regclass)) AS query`
  )
  return parts.before + row.query + parts.after
}

/**
 * A function or procedure: pg_get_functiondef's statement, `CREATE OR REPLACE FUNCTION
 * schema.name(`..., recreated under the same name in the scratch schema and printed back with
 * the original schema's name where the scratch schema's stands.
 */
async function recreateFunction(db: Queryable, name: string, definition: string): Promise<string | undefined> {
  const qualified = name.slice(0, functionNameEnd(name))
  const header = /^CREATE OR REPLACE (FUNCTION|PROCEDURE) /.exec(definition)
  if (!header || !definition.startsWith(`${header[0]}${qualified}(`)) return undefined
  const proname = qualified.slice(qualifiedSchemaEnd(qualified) + 1)
  const scratchHeader = `${header[0]}${SCRATCH_SCHEMA}.${proname}(`
  await runOne(db, scratchHeader + definition.slice(header[0].length + qualified.length + 1))
  const [row] = await db.query<{ definition: string }>(
    `SELECT pg_catalog.pg_get_functiondef(p.oid) AS definition FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = '${SCRATCH_SCHEMA}'::pg_catalog.regnamespace`
  )
  if (!row?.definition.startsWith(scratchHeader)) return undefined
  return `${header[0]}${qualified}(` + row.definition.slice(scratchHeader.length)
}

/** Where `schema.name` ends in a function's fingerprint name `schema.name(argument types)`. */
function functionNameEnd(name: string): number {
  let quoted = false
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '"') quoted = !quoted
    else if (name[i] === '(' && !quoted) return i
  }
  return name.length
}

/** Where the schema ends in `schema.name`, each part bare or double-quoted. */
function qualifiedSchemaEnd(qualified: string): number {
  let quoted = false
  for (let i = 0; i < qualified.length; i++) {
    if (qualified[i] === '"') quoted = !quoted
    else if (qualified[i] === '.' && !quoted) return i
  }
  return -1
}

/**
 * CREATE AGGREGATE statements as pg_dump writes them (functions by name, resolved by the server
 * that runs the statement, as a restore resolves them), for aggregates named as the fingerprint
 * names functions. Built in SQL on the side the aggregate lives on, with the catalog settings
 * pinned (search_path pg_catalog: names outside it are qualified).
 */
const AGGREGATE_STATEMENTS_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS name,
  'CREATE AGGREGATE ${SCRATCH_SCHEMA}.recreated(' || CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_catalog.pg_get_function_arguments(p.oid) END
  || ') (' || concat_ws(', ', 'SFUNC = ' || g.aggtransfn::pg_catalog.regproc::text,
    'STYPE = ' || pg_catalog.format_type(g.aggtranstype, NULL),
    CASE WHEN g.aggtransspace <> 0 THEN 'SSPACE = ' || g.aggtransspace END,
    CASE WHEN g.aggfinalfn <> 0 THEN 'FINALFUNC = ' || g.aggfinalfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggfinalextra THEN 'FINALFUNC_EXTRA' END,
    'FINALFUNC_MODIFY = ' || CASE g.aggfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END,
    CASE WHEN g.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || g.aggcombinefn::pg_catalog.regproc::text END,
    CASE WHEN g.aggserialfn <> 0 THEN 'SERIALFUNC = ' || g.aggserialfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggdeserialfn <> 0 THEN 'DESERIALFUNC = ' || g.aggdeserialfn::pg_catalog.regproc::text END,
    'INITCOND = ' || pg_catalog.quote_literal(g.agginitval),
    CASE WHEN g.aggmtransfn <> 0 THEN 'MSFUNC = ' || g.aggmtransfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggminvtransfn <> 0 THEN 'MINVFUNC = ' || g.aggminvtransfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggmtranstype <> 0 THEN 'MSTYPE = ' || pg_catalog.format_type(g.aggmtranstype, NULL) END,
    CASE WHEN g.aggmtransspace <> 0 THEN 'MSSPACE = ' || g.aggmtransspace END,
    CASE WHEN g.aggmfinalfn <> 0 THEN 'MFINALFUNC = ' || g.aggmfinalfn::pg_catalog.regproc::text END,
    CASE WHEN g.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
    CASE WHEN g.aggmtransfn <> 0 THEN 'MFINALFUNC_MODIFY = '
      || CASE g.aggmfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END END,
    'MINITCOND = ' || pg_catalog.quote_literal(g.aggminitval),
    CASE WHEN g.aggsortop <> 0 THEN 'SORTOP = ' || (SELECT 'OPERATOR(' || pg_catalog.quote_ident(opn.nspname) || '.' || o.oprname || ')'
                                                    FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace opn ON opn.oid = o.oprnamespace
                                                    WHERE o.oid = g.aggsortop) END,
    CASE WHEN g.aggkind = 'h' THEN 'HYPOTHETICAL' END,
    'PARALLEL = ' || CASE p.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED' ELSE 'UNSAFE' END) || ')' AS statement
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_aggregate g ON g.aggfnoid = p.oid`

async function readAggregateStatements(db: Queryable, names: string[]): Promise<Map<string, string>> {
  const rows = await withPinnedCatalogSettings(db, () =>
    db.query<{ name: string; statement: string }>(`SELECT * FROM (${AGGREGATE_STATEMENTS_SQL}) a WHERE a.name = ANY ($1)`, [
      names
    ])
  )
  return new Map(rows.map(row => [row.name, row.statement]))
}

async function recreateAggregate(db: Queryable, statement: string): Promise<string | undefined> {
  await runOne(db, statement)
  const [row] = await db.query<{ definition: string }>(
    `SELECT ${AGGREGATE_DEFINITION_SQL} AS definition FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = '${SCRATCH_SCHEMA}'::pg_catalog.regnamespace`
  )
  return row?.definition
}

/**
 * ACLs compared as pg_dump restores them: pg_dump writes, per object, the REVOKEs and GRANTs that
 * turn the dumping server's default ACL into the object's, and the restoring server applies them
 * to its own default (PostgreSQL 17's includes MAINTAIN). Each side's ACL is read as what it
 * takes from and adds to its own server's default (privilegeDeltasSql); equal changes are the
 * same privileges restored.
 */
async function sameAclChanges(sides: CrossMajorSides, differences: SchemaDifference[]): Promise<SchemaDifference[]> {
  const read = async (db: Queryable, standIns: ReadonlyMap<string, string> = new Map()) => {
    const rows = await db.query<{ kind: string; name: string; delta: string }>(
      `SELECT * FROM (${privilegeDeltasSql()}) d WHERE (d.kind, d.name) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [differences.map(d => d.kind), differences.map(d => d.name), [...standIns.keys()], [...standIns.values()]]
    )
    return new Map(rows.map(row => [`${row.kind}\u0000${row.name}`, row.delta]))
  }
  const production = await sides.production.withSavepoint(() => read(sides.production))
  const restored = await read(sides.restored, sides.standIns)
  return differences.filter(d => {
    const key = `${d.kind}\u0000${d.name}`
    return production.has(key) && production.get(key) === restored.get(key)
  })
}

/**
 * The `public` schema's owner as each server's initdb made it: pg_dump writes no owner for it
 * while it has that owner (pg_database_owner from PostgreSQL 15, so a restore into 14 or older
 * leaves it with that server's own, the bootstrap superuser's). Settled only when each side's
 * owner is its own server's initial one; any owner pg_dump wrote must match by name.
 */
const INITIAL_PUBLIC_OWNER_SQL = `SELECT pg_catalog.quote_ident(CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 150000
  THEN 'pg_database_owner' ELSE pg_catalog.pg_get_userbyid(10) END) AS owner`

async function sameInitialOwner(sides: CrossMajorSides, differences: SchemaDifference[]): Promise<SchemaDifference[]> {
  const [production] = await sides.production.withSavepoint(() =>
    sides.production.query<{ owner: string }>(INITIAL_PUBLIC_OWNER_SQL)
  )
  const [restored] = await sides.restored.query<{ owner: string }>(INITIAL_PUBLIC_OWNER_SQL)
  return differences.filter(d => d.production === production.owner && d.restored === restored.owner)
}

/** For messages and tests: an identifier as the fingerprint quotes it. */
export const scratchSchema = quoteIdent(SCRATCH_SCHEMA)
