import { AGGREGATE_DEFINITION_SQL, CATALOG_KINDS, UNREADABLE_MAPPING_OPTIONS, readCatalogKinds } from './catalog-kinds.js'
import { PINNED_SETTINGS, notInExtensionSql, userNamespaceSql, userRelationSql } from './figure-queries.js'
import type { Queryable } from './queryable.js'
import type { SchemaObject as EngineSchemaObject, SchemaObjectDifference } from '../types.js'
import { byKindAndName, compareText } from '../../util/text-order.js'

/**
 * The schema fingerprint: everything a restore must recreate besides the rows: one text
 * definition per object, built so that the same schema gives the same text in any database on
 * any server of the same major version. Hence no OIDs and no database names, while the names
 * pg_dump does keep (constraints, indexes, sequences) are part of the fingerprint. Owners and
 * ACLs are read apart (privileges.ts): they are only restored when the clean room has the roles.
 */

export const SCHEMA_KINDS = [
  'schema',
  'table',
  'column',
  'column order',
  'constraint',
  'index',
  'view',
  'materialized view',
  'function',
  'trigger',
  'rule',
  'policy',
  'sequence',
  'type',
  'enum',
  'domain',
  'statistics',
  'extension',
  'comment',
  ...CATALOG_KINDS,
  'large object'
] as const
/** Read by privileges.ts, and compared only when the restore kept owners and privileges. */
export const PRIVILEGE_KINDS = ['owner', 'privileges', 'default privileges'] as const

/**
 * One schema object (the engine seam's): `kind` one of SCHEMA_KINDS or PRIVILEGE_KINDS, `name`
 * identifies it (quoted as PostgreSQL quotes identifiers), `definition` is what must match.
 */
export type SchemaObject = EngineSchemaObject
/** An object whose definition differs, or that exists on one side only (null on the other). */
export type SchemaDifference = SchemaObjectDifference

/**
 * Settings that change how the server prints expressions, types and names: pg_get_expr and
 * friends qualify names not on the search_path, constants print in DateStyle and TimeZone, and
 * quote_all_identifiers quotes everything. Pinned so both sides print the same text.
 */
const CATALOG_SETTINGS: ReadonlyArray<[string, string]> = [
  ...PINNED_SETTINGS,
  ['quote_all_identifiers', 'off'],
  ['standard_conforming_strings', 'on']
]

/**
 * Runs `read` with the catalog-printing settings pinned, then puts the session's own values
 * back: the caller's session (production's snapshot transaction, say) keeps its configuration.
 * set_config is allowed in a read-only transaction.
 */
export async function withPinnedCatalogSettings<T>(db: Queryable, read: () => Promise<T>): Promise<T> {
  const names = CATALOG_SETTINGS.map(([name]) => name)
  const [saved] = await db.query<{ values: string[] }>(
    'SELECT array_agg(pg_catalog.current_setting(name) ORDER BY ordinality) AS values FROM unnest($1::text[]) WITH ORDINALITY AS s(name)',
    [names]
  )
  await setAll(
    db,
    names,
    CATALOG_SETTINGS.map(([, value]) => value)
  )
  try {
    return await read()
  } finally {
    // After an error the caller's transaction may be aborted; it has a bigger problem then.
    await setAll(db, names, saved.values).catch(() => undefined)
  }
}

async function setAll(db: Queryable, names: string[], values: string[]): Promise<void> {
  await db.query('SELECT pg_catalog.set_config(name, value, false) FROM unnest($1::text[], $2::text[]) AS s(name, value)', [
    names,
    values
  ])
}

/** `schema.relation` as PostgreSQL quotes it, from a pg_namespace and a pg_class alias. */
const qualified = (namespace: string, relation: string) =>
  `pg_catalog.quote_ident(${namespace}.nspname) || '.' || pg_catalog.quote_ident(${relation}.relname)`

/** A user relation that is not part of an extension (`c` pg_class, `n` its pg_namespace). */
const USER_RELATION = userRelationSql('c', 'n')

const SCHEMAS_SQL = `
SELECT 'schema' AS kind, pg_catalog.quote_ident(n.nspname) AS name, 'CREATE SCHEMA ' || pg_catalog.quote_ident(n.nspname) AS definition
FROM pg_catalog.pg_namespace n
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_namespace', 'n.oid')}`

/** What columns, constraints and indexes do not say about a table: partitioning, inheritance, storage, RLS. */
const TABLES_SQL = `
SELECT 'table' AS kind, ${qualified('n', 'c')} AS name,
  concat_ws(' ',
    CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
    CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED' END,
    CASE WHEN c.relkind = 'p' THEN 'PARTITION BY ' || pg_catalog.pg_get_partkeydef(c.oid) END,
    (SELECT CASE WHEN c.relispartition THEN 'PARTITION OF ' ELSE 'INHERITS ' END
            || string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno)
     FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid),
    CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
    (SELECT 'SERVER ' || pg_catalog.quote_ident(s.srvname) || coalesce(' OPTIONS (' || (SELECT string_agg(o, ', ' ORDER BY o COLLATE "C") FROM unnest(f.ftoptions) AS o) || ')', '')
     FROM pg_catalog.pg_foreign_table f JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver WHERE f.ftrelid = c.oid),
    'WITH (' || array_to_string(c.reloptions, ', ') || ')',
    CASE WHEN c.relrowsecurity THEN 'ROW LEVEL SECURITY' END,
    CASE WHEN c.relforcerowsecurity THEN 'FORCE ROW LEVEL SECURITY' END,
    CASE c.relreplident WHEN 'n' THEN 'REPLICA IDENTITY NOTHING' WHEN 'f' THEN 'REPLICA IDENTITY FULL'
                        WHEN 'i' THEN 'REPLICA IDENTITY USING INDEX ' || coalesce(
                          (SELECT pg_catalog.quote_ident(ri.relname) FROM pg_catalog.pg_index i
                           JOIN pg_catalog.pg_class ri ON ri.oid = i.indexrelid
                           WHERE i.indrelid = c.oid AND i.indisreplident), '') END) AS definition
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f') AND ${USER_RELATION}`

/**
 * Columns of tables, foreign tables and composite types. A view's columns follow from its
 * definition. Keyed by name, not position: columns dropped in production leave holes in attnum
 * that a restore closes.
 */
const COLUMNS_SQL = `
SELECT 'column' AS kind, ${qualified('n', 'c')} || '.' || pg_catalog.quote_ident(a.attname) AS name,
  concat_ws(' ',
    pg_catalog.format_type(a.atttypid, a.atttypmod),
    CASE WHEN a.attcollation <> t.typcollation
         THEN 'COLLATE ' || pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END,
    CASE WHEN a.attnotnull THEN 'NOT NULL' END,
    CASE WHEN a.attgenerated = 's' THEN 'GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) || ') STORED'
         ELSE 'DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
    CASE a.attidentity WHEN 'a' THEN 'GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' END
  ) AS definition
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f', 'c') AND ${USER_RELATION}
  AND ${notInExtensionSql('pg_catalog.pg_type', 'c.reltype')}`

/**
 * The order of a table's (or composite type's) columns, which `SELECT *`, `INSERT ... VALUES`
 * without a column list, `COPY` without one and row constructors depend on. Columns are compared
 * by name above; pg_dump keeps their order (dropped columns aside, whose holes a restore closes),
 * but for an inheritance child, which it restores with `INHERITS`: that puts the inherited columns
 * first, in the parents' order, so only the child's own columns (not inherited) are compared, in
 * their order. A partition is restored as a table of its own (pg_dump 12 and later) and then
 * attached, so all its columns keep their order, which may differ from its parent's.
 */
const COLUMN_ORDER_SQL = `
SELECT 'column order' AS kind, ${qualified('n', 'c')} AS name,
  coalesce((SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND (a.attinhcount = 0 OR c.relispartition)), '')
    AS definition
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'c') AND ${USER_RELATION}
  AND ${notInExtensionSql('pg_catalog.pg_type', 'c.reltype')}`

/**
 * Table constraints (domain constraints belong to their domain). NOT NULL is compared with its
 * column (and a domain's with the domain): PostgreSQL 18 (17 for domains) also catalogs it as a
 * constraint of kind `n`, older servers do not, and a restore into a newer clean room must still
 * compare. A foreign key on or to a
 * partitioned table is cloned per partition under the same name; the clones (conparentid set)
 * follow from their parent, which is what pg_dump dumps, and would collide on name.
 */
const CONSTRAINTS_SQL = `
SELECT 'constraint' AS kind, ${qualified('n', 'c')} || '.' || pg_catalog.quote_ident(co.conname) AS name,
  pg_catalog.pg_get_constraintdef(co.oid) AS definition
FROM pg_catalog.pg_constraint co
JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT (co.contype = 'f' AND co.conparentid <> 0) AND co.contype <> 'n' AND ${USER_RELATION}`

/**
 * Indexes other than those behind a primary key, unique or exclusion constraint (the constraint
 * says it all, and one missing object should be one difference). Invalid indexes, left by a
 * failed CREATE INDEX CONCURRENTLY, are not dumped by pg_dump; a partitioned index is invalid
 * until every partition has its own, so it stays.
 */
const INDEXES_SQL = `
SELECT 'index' AS kind, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(ic.relname) AS name,
  pg_catalog.pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisclustered THEN ' (CLUSTER)' ELSE '' END AS definition
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE (i.indisvalid OR ic.relkind = 'I') AND ${USER_RELATION}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
                  WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x'))`

const VIEWS_SQL = `
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS kind, ${qualified('n', 'c')} AS name,
  concat_ws(' ',
    'WITH (' || array_to_string(c.reloptions, ', ') || ')',
    ltrim(pg_catalog.pg_get_viewdef(c.oid)),
    CASE WHEN c.relkind = 'm' AND NOT c.relispopulated THEN 'WITH NO DATA' END) AS definition
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND ${USER_RELATION}`

/**
 * Functions and procedures by name and argument types (overloads are separate objects);
 * pg_get_functiondef gives body, language, volatility, strictness, security and SET options.
 * It refuses aggregates, which are described from pg_aggregate instead; every "char" column is cast
 * to text before || (PostgreSQL 18 finds text || "char" ambiguous). Functions a type made
 * for itself (a range type's constructors, deptype `i`) come and go with their type.
 */
const FUNCTIONS_SQL = `
SELECT 'function' AS kind,
  pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS name,
  CASE WHEN p.prokind = 'a' THEN ${AGGREGATE_DEFINITION_SQL}
  ELSE pg_catalog.pg_get_functiondef(p.oid) END AS definition
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_proc', 'p.oid')}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                  AND i.objid = p.oid AND i.deptype = 'i')`

/** User triggers; internal ones (foreign keys) belong to their constraint, clones on partitions to their parent. */
const triggersSql = (serverVersionNum: number) => `
SELECT 'trigger' AS kind, ${qualified('n', 'c')} || '.' || pg_catalog.quote_ident(t.tgname) AS name,
  pg_catalog.pg_get_triggerdef(t.oid)
    || CASE t.tgenabled WHEN 'D' THEN ' (DISABLED)' WHEN 'R' THEN ' (ENABLE REPLICA)'
                        WHEN 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END AS definition
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal ${serverVersionNum >= 130000 ? 'AND t.tgparentid = 0' : ''} AND ${USER_RELATION}`

const RULES_SQL = `
SELECT 'rule' AS kind, ${qualified('n', 'c')} || '.' || pg_catalog.quote_ident(r.rulename) AS name,
  pg_catalog.pg_get_ruledef(r.oid) || CASE r.ev_enabled WHEN 'D' THEN ' (DISABLED)' WHEN 'R' THEN ' (ENABLE REPLICA)'
                                                        WHEN 'A' THEN ' (ENABLE ALWAYS)' ELSE '' END AS definition
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND ${USER_RELATION}`

/** Row-level security policies. Roles named in a policy must exist for the restore to succeed, so they are kept. */
const POLICIES_SQL = `
SELECT 'policy' AS kind, ${qualified('n', 'c')} || '.' || pg_catalog.quote_ident(p.polname) AS name,
  concat_ws(' ',
    CASE WHEN p.polpermissive THEN 'AS PERMISSIVE' ELSE 'AS RESTRICTIVE' END,
    'FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
    'TO ' || (SELECT string_agg(role, ', ' ORDER BY role)
              FROM (SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END AS role
                    FROM unnest(p.polroles) AS r) AS roles),
    'USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')',
    'WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')') AS definition
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_RELATION}`

/** How a sequence is defined, not where it stands: values move under live writes (see sequence-check.ts). */
const SEQUENCES_SQL = `
SELECT 'sequence' AS kind, ${qualified('n', 'c')} AS name,
  concat_ws(' ',
    'AS ' || pg_catalog.format_type(s.seqtypid, NULL),
    'START ' || s.seqstart, 'INCREMENT ' || s.seqincrement, 'MINVALUE ' || s.seqmin, 'MAXVALUE ' || s.seqmax,
    'CACHE ' || s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END,
    CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED' END,
    (SELECT 'OWNED BY ' || ${qualified('tn', 'tc')} || '.' || pg_catalog.quote_ident(ta.attname)
            || CASE d.deptype WHEN 'i' THEN ' (identity)' ELSE '' END
     FROM pg_catalog.pg_depend d
     JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
     JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
     JOIN pg_catalog.pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
       AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
     LIMIT 1)) AS definition
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_RELATION}`

/** A user type's name (`t` pg_type, `n` its pg_namespace). */
const TYPE_NAME = `pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname)`
const USER_TYPE = `${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_type', 't.oid')}`

/** Composite types (their attributes are columns) and range types. */
const TYPES_SQL = `
SELECT 'type' AS kind, ${TYPE_NAME} AS name,
  CASE t.typtype WHEN 'c' THEN 'composite'
  ELSE (SELECT concat_ws(' ', 'range of ' || pg_catalog.format_type(r.rngsubtype, NULL),
                         'COLLATE ' || (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
                                        FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
                                        WHERE co.oid = r.rngcollation),
                         'SUBTYPE_OPCLASS = ' || (SELECT pg_catalog.quote_ident(on_.nspname) || '.' || pg_catalog.quote_ident(oc.opcname)
                                                  FROM pg_catalog.pg_opclass oc JOIN pg_catalog.pg_namespace on_ ON on_.oid = oc.opcnamespace
                                                  WHERE oc.oid = r.rngsubopc),
                         CASE WHEN r.rngcanonical <> 0 THEN 'CANONICAL = ' || r.rngcanonical::pg_catalog.regprocedure::text END,
                         CASE WHEN r.rngsubdiff <> 0 THEN 'SUBTYPE_DIFF = ' || r.rngsubdiff::pg_catalog.regprocedure::text END)
        FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid) END AS definition
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE (t.typtype = 'r' OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))
  AND ${USER_TYPE}`

/** Enum labels in their sort order, which is the order comparisons use. */
const ENUMS_SQL = `
SELECT 'enum' AS kind, ${TYPE_NAME} AS name,
  coalesce((SELECT string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
            FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '') AS definition
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND ${USER_TYPE}`

/** Domains with base type, collation, nullability, default (deparsed, not as typed) and named constraints. */
const DOMAINS_SQL = `
SELECT 'domain' AS kind, ${TYPE_NAME} AS name,
  concat_ws(' ',
    pg_catalog.format_type(t.typbasetype, t.typtypmod),
    CASE WHEN t.typcollation <> b.typcollation
         THEN 'COLLATE ' || pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END,
    CASE WHEN t.typnotnull THEN 'NOT NULL' END,
    'DEFAULT ' || pg_catalog.pg_get_expr(t.typdefaultbin, 0),
    (SELECT string_agg('CONSTRAINT ' || pg_catalog.quote_ident(dc.conname) || ' ' || pg_catalog.pg_get_constraintdef(dc.oid), ' '
                       ORDER BY dc.conname)
     FROM pg_catalog.pg_constraint dc WHERE dc.contypid = t.oid AND dc.contype <> 'n')) AS definition
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE t.typtype = 'd' AND ${USER_TYPE}`

/** Extended statistics (CREATE STATISTICS). */
const STATISTICS_SQL = `
SELECT 'statistics' AS kind, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(s.stxname) AS name,
  pg_catalog.pg_get_statisticsobjdef(s.oid) AS definition
FROM pg_catalog.pg_statistic_ext s
JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_statistic_ext', 's.oid')}`

/** Extensions wherever they live: their members are left out of everything else, so the version stands for them. */
const EXTENSIONS_SQL = `
SELECT 'extension' AS kind, pg_catalog.quote_ident(x.extname) AS name,
  'version ' || x.extversion || ' in schema ' || pg_catalog.quote_ident(n.nspname) AS definition
FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace`

/**
 * Comments on any user object, named the way pg_identify_object names it ("table column
 * public.customers.email"). Built-in objects have OIDs below 16384 (FirstNormalObjectId) and
 * their comments come with the server; schemas are the exception, since `public` is built in
 * yet its comment can be changed.
 */
const COMMENTS_SQL = `
SELECT 'comment' AS kind, o.type || ' ' || o.identity AS name, d.description AS definition
FROM pg_catalog.pg_description d
CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) AS o
LEFT JOIN pg_catalog.pg_namespace n
  ON CASE WHEN d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN n.oid = d.objoid ELSE n.nspname = o.schema END
WHERE (d.objoid >= 16384 OR d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
  AND o.identity IS NOT NULL
  AND (CASE WHEN n.oid IS NULL THEN o.schema IS NULL ELSE ${userNamespaceSql('n')} END)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')`

/**
 * Reads the schema fingerprint of the connected database: every object of every kind in
 * SCHEMA_KINDS outside the system schemas and outside extensions, sorted by kind then name.
 * Run it inside production's snapshot transaction to describe the schema pg_dump saw (the
 * pg_get_*def functions read the latest catalog, so DDL racing the dump can still show).
 * Needs PostgreSQL 12 or later.
 */
export async function readSchemaFingerprint(db: Queryable): Promise<SchemaObject[]> {
  return withPinnedCatalogSettings(db, async () => {
    const [{ num }] = await db.query<{ num: string }>("SELECT pg_catalog.current_setting('server_version_num') AS num")
    const queries = [
      SCHEMAS_SQL,
      TABLES_SQL,
      COLUMNS_SQL,
      COLUMN_ORDER_SQL,
      CONSTRAINTS_SQL,
      INDEXES_SQL,
      VIEWS_SQL,
      FUNCTIONS_SQL,
      triggersSql(Number(num)),
      RULES_SQL,
      POLICIES_SQL,
      SEQUENCES_SQL,
      TYPES_SQL,
      ENUMS_SQL,
      DOMAINS_SQL,
      STATISTICS_SQL,
      EXTENSIONS_SQL,
      COMMENTS_SQL
    ]
    const objects: SchemaObject[] = []
    for (const sql of queries) objects.push(...(await db.query<SchemaObject>(sql)))
    objects.push(...(await readCatalogKinds(db, Number(num))))
    return objects.sort(byKindAndName)
  })
}

/**
 * The objects whose definitions differ, or that one side lacks, sorted by kind then name.
 * Pure. Objects that share kind and name (which the catalog queries avoid) are compared as the
 * sorted set of their definitions, so none is silently dropped.
 */
export function diffSchema(production: SchemaObject[], restored: SchemaObject[]): SchemaDifference[] {
  const productionByKey = definitionsByKey(production)
  const restoredByKey = definitionsByKey(restored)
  const differences: SchemaDifference[] = []
  for (const [key, { kind, name, definition }] of productionByKey) {
    const copy = restoredByKey.get(key)
    // Options the role may not read on one side are compared by the mapping's existence alone.
    const unreadable = copy && [definition, copy.definition].includes(UNREADABLE_MAPPING_OPTIONS)
    if (copy?.definition !== definition && !unreadable)
      differences.push({ kind, name, production: definition, restored: copy?.definition ?? null })
  }
  for (const [key, { kind, name, definition }] of restoredByKey) {
    if (!productionByKey.has(key)) differences.push({ kind, name, production: null, restored: definition })
  }
  return differences.sort(byKindAndName)
}

function definitionsByKey(objects: SchemaObject[]): Map<string, SchemaObject> {
  const grouped = new Map<string, SchemaObject & { definitions: string[] }>()
  for (const object of objects) {
    const key = `${object.kind}\u0000${object.name}`
    const entry = grouped.get(key)
    if (entry) entry.definitions.push(object.definition)
    else grouped.set(key, { ...object, definitions: [object.definition] })
  }
  return new Map(
    [...grouped].map(([key, { kind, name, definitions }]) => {
      return [key, { kind, name, definition: definitions.sort(compareText).join('\n') }]
    })
  )
}
