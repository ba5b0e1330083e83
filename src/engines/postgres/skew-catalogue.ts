/**
 * The version-skew catalogue: what a newer pg_dump (14 to 18) writes, or a newer production
 * holds, that an older clean-room server (12 to 17) or psql rejects. Each entry is either a
 * sanitizer rule that removes a whole top-level statement (or the one clause pg_dump added) and
 * changes nothing the restored copy is compared on, or a stop: no rewrite would restore the
 * same database, so the run ends with an error naming the server to use. Pure data and text.
 *
 * Session settings pg_dump writes (`SET transaction_timeout = 0;` from pg_dump 17 on, and any
 * other) are removed by the generic unknown-setting rule from the clean room's own pg_settings,
 * and meta-commands psql does not know (`\restrict`) by the meta-command rule: see sanitize-rules.ts.
 */

export type SkewRuleId =
  | 'identity-sequence-logged'
  | 'identity-sequence-unlogged'
  | 'column-compression'
  | 'unlogged-sequence'
  | 'nulls-not-distinct'
  | 'standard-conforming-strings'

export interface SkewRule {
  /** The construct, as the report names it. */
  construct: string
  /** Which pg_dump (or production) writes it. */
  source: string
  /** The rule applies when the clean room's major version is below this. */
  rejectedBelow: number
  action: 'remove' | 'stop'
  /** Why the rewrite is faithful, or why none is. */
  why: string
}

export const SKEW_RULES: Record<SkewRuleId, SkewRule> = {
  'identity-sequence-logged': {
    construct: 'SEQUENCE NAME ... LOGGED',
    source: 'pg_dump 15+, for an identity column whose sequence is logged while its table is unlogged (any production before 15)',
    rejectedBelow: 15,
    action: 'remove',
    why: 'before PostgreSQL 15 every sequence is logged, so the clause states the default'
  },
  'identity-sequence-unlogged': {
    construct: 'SEQUENCE NAME ... UNLOGGED',
    source: 'pg_dump 15+, for an unlogged identity sequence of a logged table (production 15+)',
    rejectedBelow: 15,
    action: 'stop',
    why: 'a server before 15 cannot create an unlogged sequence'
  },
  'column-compression': {
    construct: 'ALTER COLUMN ... SET COMPRESSION',
    source: 'pg_dump 14+, for a column whose compression method was set (production 14+)',
    rejectedBelow: 14,
    action: 'remove',
    why: 'the compression method decides how a value is stored on disk, never the value'
  },
  'unlogged-sequence': {
    construct: 'CREATE UNLOGGED SEQUENCE',
    source: 'pg_dump 15+, for an unlogged sequence (production 15+)',
    rejectedBelow: 15,
    action: 'stop',
    why: 'a server before 15 cannot create an unlogged sequence'
  },
  'nulls-not-distinct': {
    construct: 'UNIQUE NULLS NOT DISTINCT',
    source: 'pg_dump 15+, for a unique index or constraint that treats nulls as equal (production 15+)',
    rejectedBelow: 15,
    action: 'stop',
    why: 'without NULLS NOT DISTINCT the key accepts rows production rejects'
  },
  'standard-conforming-strings': {
    construct: 'SET standard_conforming_strings',
    source: "any pg_dump, from the production session's setting",
    rejectedBelow: Infinity,
    action: 'stop',
    why: "the sanitizer reads quotes by production's setting, and the dump declared the other"
  }
}

/** The error for a construct that stopped the stream. */
export function stopMessage(rule: SkewRuleId, line: string, cleanroomMajor: number): string {
  const entry = SKEW_RULES[rule]
  if (rule === 'standard-conforming-strings') {
    return (
      `The dump declares '${line.trim()}', unlike production's session when the run started, so the sanitizer ` +
      `cannot tell its strings apart safely: make standard_conforming_strings the same for the role and database ` +
      `Lazarus connects as (ALTER ROLE ... SET / ALTER DATABASE ... SET) and run again.`
    )
  }
  return (
    `The dump holds ${entry.construct} (${entry.source}), which PostgreSQL ${cleanroomMajor} rejects, ` +
    `and no rewrite restores it faithfully (${entry.why}): use a clean room running PostgreSQL ${entry.rejectedBelow} or newer.`
  )
}

/** What psql says when the clean room meets a construct it does not know, and what it is. */
interface KnownFailure {
  pattern: RegExp
  construct: string
  since: number
  /** For what a newer clean room no longer takes: the major that stopped taking it. */
  removedIn?: number
}

/**
 * psql's errors that name a newer construct. Each is matched against the restore's error output;
 * the first that matches explains the failure. `since` is the PostgreSQL major that introduced it.
 */
const KNOWN_FAILURES: KnownFailure[] = [
  { pattern: /unrecognized configuration parameter "([^"]+)"/, construct: 'the session setting $1', since: 0 },
  { pattern: /invalid command \\(restrict|unrestrict)/, construct: 'the psql meta-command \\$1', since: 0 },
  { pattern: /syntax error at or near "(UN)?LOGGED"/, construct: '(UN)LOGGED sequences', since: 15 },
  { pattern: /syntax error at or near "COMPRESSION"/, construct: 'column compression (SET COMPRESSION)', since: 14 },
  { pattern: /syntax error at or near "NULLS"/, construct: 'UNIQUE NULLS NOT DISTINCT', since: 15 },
  {
    pattern: /syntax error at or near "ATOMIC"|syntax error at or near "RETURN"/,
    construct: 'SQL-standard function bodies',
    since: 14
  },
  { pattern: /multirange/, construct: 'multirange types', since: 14 },
  { pattern: /pg_restore_(relation|attribute)_stats/, construct: 'statistics (pg_restore_relation_stats)', since: 18 },
  {
    pattern: /syntax error at or near "MAINTAIN"|unrecognized privilege type "maintain"/i,
    construct: 'the MAINTAIN privilege',
    since: 17
  },
  { pattern: /syntax error at or near "VIRTUAL"/, construct: 'virtual generated columns', since: 18 },
  { pattern: /syntax error at or near "ENFORCED"/, construct: 'NOT ENFORCED constraints', since: 18 },
  {
    pattern: /syntax error at or near "WITHOUT OVERLAPS"|syntax error at or near "OVERLAPS"/,
    construct: 'WITHOUT OVERLAPS keys',
    since: 18
  },
  { pattern: /syntax error at or near "PERIOD"/, construct: 'PERIOD foreign keys', since: 18 },
  { pattern: /type attribute "multirange_type_name" not recognized/, construct: 'multirange types', since: 14 },
  { pattern: /procedures cannot have OUT arguments/, construct: 'procedures with OUT parameters', since: 14 },
  {
    pattern: /unrecognized parameter "(deduplicate_items|autovacuum_vacuum_insert_(?:threshold|scale_factor))"/,
    construct: 'the storage parameter $1',
    since: 13
  },
  { pattern: /unrecognized parameter "(security_invoker)"/, construct: 'the view option $1', since: 15 },
  {
    pattern: /unrecognized parameter "(vacuum_max_eager_freeze_failure_rate)"/,
    construct: 'the storage parameter $1',
    since: 18
  },
  { pattern: /unrecognized collation provider: builtin|provider "builtin"/, construct: 'builtin collations', since: 17 },
  { pattern: /collation attribute "rules" not recognized/, construct: 'ICU collation rules', since: 16 },
  { pattern: /syntax error at or near "INHERIT"/, construct: 'NOT NULL ... NO INHERIT', since: 18 },
  { pattern: /unrecognized (?:publication|subscription) parameter: "([^"]+)"/, construct: 'the replication option $1', since: 0 },
  { pattern: /partitioned tables cannot be unlogged/, construct: 'an unlogged partitioned table', since: 0, removedIn: 18 }
]

export interface RestoreFailureContext {
  /** psql's error output. */
  error: string
  cleanroomMajor: number
  productionMajor: number
  pgDumpMajor: number
}

/**
 * When a restore failed on something the clean room's version lacks, says what and how to fix
 * it, so that the verdict is not read as a broken backup; undefined when nothing points there.
 */
export function explainSkewFailure(context: RestoreFailureContext): string | undefined {
  const { error, cleanroomMajor, productionMajor, pgDumpMajor } = context
  for (const known of KNOWN_FAILURES) {
    const match = known.pattern.exec(error)
    if (!match) continue
    const construct = known.construct.replace(/\$1/g, match[1] ?? '')
    if (known.removedIn !== undefined) {
      if (cleanroomMajor < known.removedIn) continue
      return (
        `Version skew: the dump holds ${construct}, which PostgreSQL ${known.removedIn} and later (the clean room runs ` +
        `${cleanroomMajor}) no longer accept. The backup may be sound: use a clean room running PostgreSQL ${known.removedIn - 1} or older.`
      )
    }
    if (known.since > 0 && known.since <= cleanroomMajor) continue
    const since =
      known.since > 0 ? `PostgreSQL ${known.since}` : `pg_dump ${pgDumpMajor} or production (PostgreSQL ${productionMajor})`
    return (
      `Version skew: the dump uses ${construct}, from ${since}, which the clean room (PostgreSQL ${cleanroomMajor}) does not know. ` +
      `The backup may be sound: use a clean room running PostgreSQL ${known.since > 0 ? Math.max(known.since, productionMajor) : Math.max(pgDumpMajor, productionMajor)} or newer, ` +
      `or a pg_dump as old as production (postgres-bin-dir).`
    )
  }
  // A newer pg_dump alone is no reason: it writes for the production it dumps, and the catalogue
  // covers what it adds. A newer production may hold what the clean room has never heard of.
  if (productionMajor > cleanroomMajor && /syntax error|does not exist|unrecognized|invalid/.test(error)) {
    return (
      `Version skew likely: the clean room runs PostgreSQL ${cleanroomMajor}, older than production ` +
      `(PostgreSQL ${productionMajor}), and rejected a statement of the dump. ` +
      `Use a clean room running PostgreSQL ${productionMajor} or newer.`
    )
  }
  return undefined
}

/**
 * What production itself holds that a clean room of another major rejects, with no rewrite that
 * restores it faithfully: found in production's catalog before anything is dumped, so the run
 * ends with one line that names the objects and the clean room to use, not with psql's error at
 * a line of a dump nobody sees. `sql` lists the objects' names (one `name` column); it runs in
 * production's snapshot, read-only.
 */
export interface ProductionSkewCheck {
  construct: string
  /** The clean room rejects it from this major on (newer servers dropped it)... */
  rejectedFrom?: number
  /** ...or below this major (older servers never had it). */
  rejectedBelow?: number
  why: string
  sql: string
  /** Only when owners and privileges are restored (the dump then holds GRANT and REVOKE). */
  privileges?: boolean
  /** Where pg_dump writes the construct (function of src/bin/pg_dump/pg_dump.c), for docs/version-skew.md. */
  writtenBy?: string
}

/** A user object's namespace is not a system one, and the object is not an extension's (`catalog`, `oid`). */
const userObject = (catalog: string, oid: string, namespace: string) =>
  `${namespace} NOT IN ('pg_catalog'::pg_catalog.regnamespace, 'information_schema'::pg_catalog.regnamespace)
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${catalog}'::pg_catalog.regclass AND e.objid = ${oid} AND e.deptype = 'e')`

/** A relation of production's own (not a system catalog, not an extension's), as `c` (pg_class). */
const userRelation = userObject('pg_catalog.pg_class', 'c.oid', 'c.relnamespace')
/** The subscriptions of the dumped database (pg_subscription is shared by the cluster). */
const thisDatabase = `s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())`

/**
 * Storage parameters (reloptions) newer than a clean room: pg_dump writes them in WITH (...) of
 * CREATE TABLE / VIEW / INDEX, and an older server rejects the name ("unrecognized parameter").
 * From each release's reloptions.c table; `toast.` variants are read from the TOAST table.
 */
const NEWER_RELOPTIONS: { since: number; names: string[] }[] = [
  { since: 13, names: ['deduplicate_items', 'autovacuum_vacuum_insert_threshold', 'autovacuum_vacuum_insert_scale_factor'] },
  { since: 15, names: ['security_invoker'] },
  { since: 18, names: ['vacuum_max_eager_freeze_failure_rate'] }
]

function reloptionCheck(since: number, names: string[]): ProductionSkewCheck {
  const list = names.map(name => `'${name}'`).join(', ')
  return {
    construct: `storage parameters new in PostgreSQL ${since} (${names.join(', ')})`,
    rejectedBelow: since,
    why: 'an older server does not know the parameter, and without it the relation behaves otherwise',
    writtenBy: 'dumpTableSchema, dumpIndex (WITH (...))',
    sql: `SELECT DISTINCT c.oid::pg_catalog.regclass::text || ' (' || pg_catalog.split_part(o.option, '=', 1) || ')' AS name
          FROM pg_catalog.pg_class c
          LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
          CROSS JOIN LATERAL pg_catalog.unnest(c.reloptions || COALESCE(t.reloptions, '{}')) AS o(option)
          WHERE pg_catalog.split_part(o.option, '=', 1) IN (${list}) AND ${userRelation}
          ORDER BY 1`
  }
}

/**
 * What a production newer than the clean room may hold that pg_dump writes in a syntax the older
 * server rejects, with no rewrite that restores the same database. Built from pg_dump.c of
 * REL_14_STABLE to REL_18_STABLE (each construct is written only when the server has it: the
 * `remoteVersion >=` branches) and the release notes; found in production's catalog before the
 * dump, so the run ends with the objects named instead of psql's error at a line nobody sees.
 */
const NEWER_PRODUCTION_CHECKS: ProductionSkewCheck[] = [
  ...NEWER_RELOPTIONS.map(({ since, names }) => reloptionCheck(since, names)),
  {
    construct: 'statistics targets of extended statistics (ALTER STATISTICS ... SET STATISTICS)',
    rejectedBelow: 13,
    why: 'PostgreSQL 12 has no statistics target for a statistics object',
    writtenBy: 'dumpStatisticsExt',
    sql: `SELECT c.stxnamespace::pg_catalog.regnamespace::text || '.' || pg_catalog.quote_ident(c.stxname) AS name
          FROM pg_catalog.pg_statistic_ext c
          WHERE c.stxstattarget IS NOT NULL AND c.stxstattarget <> -1
            AND ${userObject('pg_catalog.pg_statistic_ext', 'c.oid', 'c.stxnamespace')}
          ORDER BY 1`
  },
  {
    construct: 'publications with publish_via_partition_root',
    rejectedBelow: 13,
    why: 'PostgreSQL 12 publishes each partition as itself',
    writtenBy: 'dumpPublication',
    sql: `SELECT pg_catalog.quote_ident(p.pubname) AS name FROM pg_catalog.pg_publication p WHERE p.pubviaroot ORDER BY 1`
  },
  {
    construct: 'SQL-standard function bodies (BEGIN ATOMIC, RETURN)',
    rejectedBelow: 14,
    why: 'a body kept as parsed SQL has no text form an older server reads the same way',
    writtenBy: 'dumpFunc (pg_get_function_sqlbody)',
    sql: `SELECT p.oid::pg_catalog.regprocedure::text AS name FROM pg_catalog.pg_proc p
          WHERE p.prosqlbody IS NOT NULL AND ${userObject('pg_catalog.pg_proc', 'p.oid', 'p.pronamespace')}
          ORDER BY 1`
  },
  {
    construct: 'range types (PostgreSQL 14 gives each a multirange type: multirange_type_name)',
    rejectedBelow: 14,
    why: 'an older server has no multirange types, so the restored database lacks one production has',
    writtenBy: 'dumpRangeType',
    sql: `SELECT r.rngtypid::pg_catalog.regtype::text AS name FROM pg_catalog.pg_range r JOIN pg_catalog.pg_type t ON t.oid = r.rngtypid
          WHERE ${userObject('pg_catalog.pg_type', 't.oid', 't.typnamespace')}
          ORDER BY 1`
  },
  {
    construct: 'procedures with OUT parameters',
    rejectedBelow: 14,
    why: 'before PostgreSQL 14 a procedure cannot have OUT parameters',
    writtenBy: 'dumpFunc',
    sql: `SELECT p.oid::pg_catalog.regprocedure::text AS name FROM pg_catalog.pg_proc p
          WHERE p.prokind = 'p' AND 'o' = ANY (p.proargmodes) AND ${userObject('pg_catalog.pg_proc', 'p.oid', 'p.pronamespace')}
          ORDER BY 1`
  },
  {
    construct: 'extended statistics on expressions',
    rejectedBelow: 14,
    why: 'before PostgreSQL 14 a statistics object names columns only',
    writtenBy: 'dumpStatisticsExt (pg_get_statisticsobjdef)',
    sql: `SELECT c.stxnamespace::pg_catalog.regnamespace::text || '.' || pg_catalog.quote_ident(c.stxname) AS name
          FROM pg_catalog.pg_statistic_ext c
          WHERE c.stxexprs IS NOT NULL AND ${userObject('pg_catalog.pg_statistic_ext', 'c.oid', 'c.stxnamespace')}
          ORDER BY 1`
  },
  {
    construct: 'base types with a subscript handler (CREATE TYPE ... SUBSCRIPT)',
    rejectedBelow: 14,
    why: 'before PostgreSQL 14 only arrays take subscripts',
    writtenBy: 'dumpBaseType',
    sql: `SELECT t.oid::pg_catalog.regtype::text AS name FROM pg_catalog.pg_type t
          WHERE t.typtype = 'b' AND t.typsubscript <> 0
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
            AND ${userObject('pg_catalog.pg_type', 't.oid', 't.typnamespace')}
          ORDER BY 1`
  },
  {
    construct: 'unlogged sequences (CREATE UNLOGGED SEQUENCE, or an unlogged table’s identity sequence)',
    rejectedBelow: 15,
    why: 'a server before 15 cannot create an unlogged sequence',
    writtenBy: 'dumpSequence',
    sql: `SELECT c.oid::pg_catalog.regclass::text AS name FROM pg_catalog.pg_class c
          WHERE c.relkind = 'S' AND c.relpersistence = 'u' AND ${userRelation}
          ORDER BY 1`
  },
  {
    construct: 'unique keys with NULLS NOT DISTINCT',
    rejectedBelow: 15,
    why: 'without NULLS NOT DISTINCT the key accepts rows production rejects',
    writtenBy: 'dumpIndex (pg_get_indexdef), dumpConstraint',
    sql: `SELECT i.indexrelid::pg_catalog.regclass::text AS name FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
          WHERE i.indnullsnotdistinct AND ${userRelation}
          ORDER BY 1`
  },
  {
    construct: 'foreign keys with ON DELETE SET NULL / SET DEFAULT of chosen columns',
    rejectedBelow: 15,
    why: 'before PostgreSQL 15 such an action sets every column of the key',
    writtenBy: 'dumpConstraint (pg_get_constraintdef)',
    sql: `SELECT k.conrelid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(k.conname) AS name
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
          WHERE k.contype = 'f' AND k.confdelsetcols IS NOT NULL AND pg_catalog.cardinality(k.confdelsetcols) > 0 AND ${userRelation}
          ORDER BY 1`
  },
  {
    construct: 'publications of schemas, column lists or row filters',
    rejectedBelow: 15,
    why: 'before PostgreSQL 15 a publication lists whole tables only',
    writtenBy: 'dumpPublicationNamespace, dumpPublicationTable',
    sql: `SELECT DISTINCT pg_catalog.quote_ident(p.pubname) AS name FROM pg_catalog.pg_publication p
          WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_publication_namespace n WHERE n.pnpubid = p.oid)
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid AND (r.prattrs IS NOT NULL OR r.prqual IS NOT NULL))
          ORDER BY 1`
  },
  {
    construct: 'subscriptions with two_phase or disable_on_error',
    rejectedBelow: 15,
    why: 'an older server does not know the option',
    writtenBy: 'dumpSubscription',
    sql: `SELECT pg_catalog.quote_ident(s.subname) AS name FROM pg_catalog.pg_subscription s
          WHERE ${thisDatabase} AND (s.subtwophasestate <> 'd' OR s.subdisableonerr) ORDER BY 1`
  },
  {
    construct: 'ICU collations with tailoring rules (rules = ...)',
    rejectedBelow: 16,
    why: 'before PostgreSQL 16 a collation has no rules',
    writtenBy: 'dumpCollation',
    sql: `SELECT c.oid::pg_catalog.regcollation::text AS name FROM pg_catalog.pg_collation c
          WHERE c.collicurules IS NOT NULL AND ${userObject('pg_catalog.pg_collation', 'c.oid', 'c.collnamespace')}
          ORDER BY 1`
  },
  {
    construct:
      'subscriptions with origin, password_required = false, run_as_owner or streaming = parallel (the default from PostgreSQL 18)',
    rejectedBelow: 16,
    why: 'an older server does not know the option',
    writtenBy: 'dumpSubscription',
    sql: `SELECT pg_catalog.quote_ident(s.subname) AS name FROM pg_catalog.pg_subscription s
          WHERE ${thisDatabase} AND (s.suborigin <> 'any' OR NOT s.subpasswordrequired OR s.subrunasowner OR s.substream = 'p')
          ORDER BY 1`
  },
  {
    construct: 'collations of the builtin provider',
    rejectedBelow: 17,
    why: 'before PostgreSQL 17 there is no builtin collation provider',
    writtenBy: 'dumpCollation',
    sql: `SELECT c.oid::pg_catalog.regcollation::text AS name FROM pg_catalog.pg_collation c
          WHERE c.collprovider = 'b' AND ${userObject('pg_catalog.pg_collation', 'c.oid', 'c.collnamespace')}
          ORDER BY 1`
  },
  {
    construct: 'identity columns of partitioned tables',
    rejectedBelow: 17,
    why: 'before PostgreSQL 17 a partitioned table cannot have an identity column',
    writtenBy: 'dumpSequence (ALTER TABLE ... ADD GENERATED ... AS IDENTITY)',
    sql: `SELECT c.oid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname) AS name
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          WHERE c.relkind = 'p' AND a.attidentity <> '' AND NOT a.attisdropped AND ${userRelation}
          ORDER BY 1`
  },
  {
    construct: 'exclusion constraints of partitioned tables',
    rejectedBelow: 17,
    why: 'before PostgreSQL 17 a partitioned table cannot have an exclusion constraint',
    writtenBy: 'dumpConstraint',
    sql: `SELECT k.conrelid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(k.conname) AS name
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
          WHERE k.contype = 'x' AND c.relkind = 'p' AND ${userRelation}
          ORDER BY 1`
  },
  {
    construct: 'subscriptions with failover',
    rejectedBelow: 17,
    why: 'an older server does not know the option',
    writtenBy: 'dumpSubscription',
    sql: `SELECT pg_catalog.quote_ident(s.subname) AS name FROM pg_catalog.pg_subscription s
          WHERE ${thisDatabase} AND s.subfailover ORDER BY 1`
  },
  {
    // pg_dump writes GRANT ALL for a grantee with every table privilege, which an older server
    // reads as its own ALL; MAINTAIN by name only when the grantee lacks another privilege.
    construct: 'the MAINTAIN privilege granted on its own (GRANT MAINTAIN, or in default privileges)',
    rejectedBelow: 17,
    why: 'before PostgreSQL 17 there is no MAINTAIN privilege',
    writtenBy: 'dumpACL, dumpDefaultACL (buildACLCommands)',
    privileges: true,
    sql: `SELECT DISTINCT c.oid::pg_catalog.regclass::text AS name
          FROM pg_catalog.pg_class c CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
          WHERE a.privilege_type = 'MAINTAIN' AND ${userRelation}
            AND (SELECT count(*) FROM pg_catalog.aclexplode(c.relacl) b WHERE b.grantee = a.grantee AND b.grantor = a.grantor) < 8
          UNION
          SELECT DISTINCT 'default privileges of ' || d.defaclrole::pg_catalog.regrole::text
          FROM pg_catalog.pg_default_acl d CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
          WHERE a.privilege_type = 'MAINTAIN'
            AND (SELECT count(*) FROM pg_catalog.aclexplode(d.defaclacl) b WHERE b.grantee = a.grantee AND b.grantor = a.grantor) < 8
          ORDER BY 1`
  },
  {
    construct: 'virtual generated columns',
    rejectedBelow: 18,
    why: 'before PostgreSQL 18 a generated column is stored',
    writtenBy: 'dumpTableSchema (GENERATED ALWAYS AS (...) without STORED)',
    sql: `SELECT c.oid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname) AS name
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          WHERE a.attgenerated = 'v' AND NOT a.attisdropped AND ${userRelation}
          ORDER BY 1`
  },
  {
    construct: 'NOT ENFORCED constraints, and WITHOUT OVERLAPS or PERIOD keys',
    rejectedBelow: 18,
    why: 'an older server enforces every constraint and has no temporal keys',
    writtenBy: 'dumpConstraint, dumpTableSchema (pg_get_constraintdef)',
    sql: `SELECT k.conrelid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(k.conname) AS name
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
          WHERE (NOT k.conenforced OR k.conperiod) AND ${userRelation}
          ORDER BY 1`
  },
  {
    construct: 'NOT NULL constraints that are NO INHERIT, NOT VALID, or declared on an inherited column',
    rejectedBelow: 18,
    why: 'before PostgreSQL 18 a not-null marking is a column flag, always inherited and valid',
    writtenBy: 'dumpTableSchema (NOT NULL ... NO INHERIT, NOT NULL column), dumpConstraint',
    sql: `SELECT k.conrelid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(k.conname) AS name
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
          JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
          WHERE k.contype = 'n' AND (k.connoinherit OR NOT k.convalidated OR (k.conislocal AND NOT a.attislocal)) AND ${userRelation}
          ORDER BY 1`
  },
  {
    construct: 'default privileges for large objects',
    rejectedBelow: 18,
    why: 'before PostgreSQL 18 ALTER DEFAULT PRIVILEGES has no ON LARGE OBJECTS',
    writtenBy: 'dumpDefaultACL',
    privileges: true,
    sql: `SELECT 'default privileges of ' || d.defaclrole::pg_catalog.regrole::text AS name
          FROM pg_catalog.pg_default_acl d WHERE d.defaclobjtype = 'L' ORDER BY 1`
  },
  {
    construct: 'publications with publish_generated_columns',
    rejectedBelow: 18,
    why: 'an older server does not know the option',
    writtenBy: 'dumpPublication',
    sql: `SELECT pg_catalog.quote_ident(p.pubname) AS name FROM pg_catalog.pg_publication p WHERE p.pubgencols <> 'n' ORDER BY 1`
  }
]

export const PRODUCTION_SKEW_CHECKS: ProductionSkewCheck[] = [
  {
    construct: 'postfix operators',
    rejectedFrom: 14,
    why: 'PostgreSQL 14 removed postfix operators, and no other operator parses the same expressions',
    sql: `SELECT o.oprname || ' (' || pg_catalog.format_type(o.oprleft, NULL) || ', NONE)' AS name
          FROM pg_catalog.pg_operator o
          WHERE o.oprright = 0 AND o.oprleft <> 0 AND ${userObject('pg_catalog.pg_operator', 'o.oid', 'o.oprnamespace')}
          ORDER BY 1`
  },
  {
    // pg_upgrade's own check (check_for_incompatible_polymorphics) finds the same objects.
    construct:
      'aggregates or operators on anyarray/anyelement built on array_append and the functions PostgreSQL 14 made anycompatible',
    rejectedFrom: 14,
    why: 'the restore looks the old signature up and finds no such function; on anycompatible types they restore',
    sql: `WITH old(f) AS (
            SELECT pg_catalog.to_regprocedure(s) FROM unnest(ARRAY['array_append(anyarray,anyelement)', 'array_cat(anyarray,anyarray)',
              'array_prepend(anyelement,anyarray)', 'array_remove(anyarray,anyelement)', 'array_replace(anyarray,anyelement,anyelement)',
              'array_position(anyarray,anyelement)', 'array_position(anyarray,anyelement,integer)',
              'array_positions(anyarray,anyelement)', 'width_bucket(anyelement,anyarray)']) AS s),
          polymorphic(t) AS (VALUES ('pg_catalog.anyarray'::pg_catalog.regtype), ('pg_catalog.anyelement'::pg_catalog.regtype))
          SELECT 'aggregate ' || p.oid::pg_catalog.regprocedure::text AS name
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
          WHERE (a.aggtransfn IN (SELECT f FROM old) OR a.aggfinalfn IN (SELECT f FROM old))
            AND a.aggtranstype IN (SELECT t FROM polymorphic) AND ${userObject('pg_catalog.pg_proc', 'p.oid', 'p.pronamespace')}
          UNION ALL
          SELECT 'operator ' || o.oid::pg_catalog.regoperator::text
          FROM pg_catalog.pg_operator o
          WHERE o.oprcode IN (SELECT f FROM old) AND o.oprleft IN (SELECT t FROM polymorphic)
            AND ${userObject('pg_catalog.pg_operator', 'o.oid', 'o.oprnamespace')}
          ORDER BY 1`
  },
  {
    construct: 'generated columns of inheritance children whose parent column is not generated',
    rejectedFrom: 16,
    why: 'PostgreSQL 16 requires a child column to be generated exactly when its parent column is',
    sql: `SELECT DISTINCT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || '.' || pg_catalog.quote_ident(a.attname) AS name
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.attrelid
          JOIN pg_catalog.pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname AND NOT pa.attisdropped
          WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> '' AND pa.attgenerated = ''
            AND ${userObject('pg_catalog.pg_class', 'c.oid', 'c.relnamespace')}
          ORDER BY 1`
  },
  {
    // pg_dump 18 itself leaves the word out (dumpTableSchema); an older pg_dump writes it.
    construct: 'unlogged partitioned tables',
    rejectedFrom: 18,
    why: "PostgreSQL 18 refuses CREATE UNLOGGED TABLE ... PARTITION BY, and the parent's persistence is part of what is compared",
    writtenBy: 'dumpTableSchema of pg_dump 17 and older (CREATE UNLOGGED TABLE ... PARTITION BY)',
    sql: `SELECT c.oid::pg_catalog.regclass::text AS name FROM pg_catalog.pg_class c
          WHERE c.relkind = 'p' AND c.relpersistence = 'u' AND ${userObject('pg_catalog.pg_class', 'c.oid', 'c.relnamespace')}
          ORDER BY 1`
  },
  ...NEWER_PRODUCTION_CHECKS
]

/**
 * The checks that apply to a restore from production's major into the clean room's; those about
 * GRANT and REVOKE only when the dump carries owners and privileges.
 */
export function productionSkewChecks(productionMajor: number, cleanroomMajor: number, privileges = true): ProductionSkewCheck[] {
  if (productionMajor === cleanroomMajor) return []
  return PRODUCTION_SKEW_CHECKS.filter(
    check =>
      (privileges || !check.privileges) &&
      ((check.rejectedFrom !== undefined && cleanroomMajor >= check.rejectedFrom && productionMajor < check.rejectedFrom) ||
        (check.rejectedBelow !== undefined && cleanroomMajor < check.rejectedBelow && productionMajor >= check.rejectedBelow))
  )
}

/** The one-line error for what production holds that a clean room of `cleanroomMajor` rejects, each check with its objects. */
export function productionSkewMessage(
  findings: { check: ProductionSkewCheck; names: string[] }[],
  cleanroomMajor: number
): string {
  return findings.map(({ check, names }) => productionSkewFinding(check, names, cleanroomMajor)).join(' ')
}

function productionSkewFinding(check: ProductionSkewCheck, names: string[], cleanroomMajor: number): string {
  const shown =
    names
      .slice(0, 5)
      .map(name => name.replace(/[\r\n]/g, char => (char === '\n' ? '\\n' : '\\r')))
      .join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '')
  const use =
    check.rejectedFrom !== undefined
      ? `a clean room running PostgreSQL ${check.rejectedFrom - 1} or older`
      : `a clean room running PostgreSQL ${check.rejectedBelow} or newer`
  return (
    `Production holds ${check.construct} (${shown}), which a PostgreSQL ${cleanroomMajor} clean room rejects ` +
    `and no rewrite restores faithfully (${check.why}): use ${use}, or change them in production first.`
  )
}
