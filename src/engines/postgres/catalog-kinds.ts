import { createHmac, randomBytes } from 'node:crypto'
import { notInExtensionSql, userNamespaceSql } from './figure-queries.js'
import type { Queryable } from './queryable.js'

/**
 * The catalog kinds pg_dump writes beyond tables, columns, constraints, indexes, views, functions,
 * triggers, rules, policies, sequences, types and comments (schema-fingerprint.ts): operators and
 * their classes and families, casts, collations, conversions, text search objects, languages,
 * transforms, access methods, foreign data wrappers, servers and user mappings, event triggers,
 * publications and subscriptions, security labels, a partitioned index's attachments, view
 * column defaults, per-column and per-table storage settings, statistics targets, base types.
 * Each object is one `kind`, `name`, `definition` like the rest of the fingerprint: same text
 * for the same object in any database, no OIDs, no owners or ACLs. Needs PostgreSQL 12 or later.
 */

export const CATALOG_KINDS = [
  'access method',
  'base type',
  'cast',
  'collation',
  'column settings',
  'conversion',
  'event trigger',
  'foreign data wrapper',
  'language',
  'operator',
  'operator class',
  'operator family',
  'partitioned index',
  'publication',
  'publication member',
  'security label',
  'server',
  'statistics target',
  'subscription',
  'table settings',
  'text search configuration',
  'text search dictionary',
  'text search parser',
  'text search template',
  'transform',
  'user mapping'
] as const
export type CatalogKind = (typeof CATALOG_KINDS)[number]

/**
 * The definition of a user mapping whose options the reading role may not see (pg_user_mappings
 * shows them only to superusers, the mapped role, and the server's owners): its existence is
 * compared, its options are not.
 */
export const UNREADABLE_MAPPING_OPTIONS = 'options not readable by this role: existence only'

/**
 * Built-in objects without a schema (casts, languages, access methods...) have OIDs below
 * FirstNormalObjectId; pg_dump skips them the same way.
 */
const FIRST_NORMAL_OID = 16384

/** `schema.name` of an object (`alias` has a namespace column `nspColumn` and a name column). */
const qualified = (namespaceAlias: string, name: string) =>
  `pg_catalog.quote_ident(${namespaceAlias}.nspname) || '.' || pg_catalog.quote_ident(${name})`

/** A regproc or regprocedure column printed as its signature, or null when unset (0). */
const procedure = (column: string) =>
  `CASE WHEN ${column}::pg_catalog.oid <> 0 THEN ${column}::pg_catalog.oid::pg_catalog.regprocedure::pg_catalog.text END`

/** A type printed by format_type, NONE for 0 (a prefix operator's missing left side). */
const typeName = (column: string) => `CASE WHEN ${column} = 0 THEN 'NONE' ELSE pg_catalog.format_type(${column}, NULL) END`

/** A user object not in a system schema and not an extension member (`n` its namespace). */
const inUserSchema = (catalog: string, oid: string) => `${userNamespaceSql('n')} AND ${notInExtensionSql(catalog, oid)}`

/** A user object without a schema: not built in and not an extension member. */
const userGlobal = (catalog: string, oid: string) => `${oid} >= ${FIRST_NORMAL_OID} AND ${notInExtensionSql(catalog, oid)}`

/** Options arrays sorted: pg_dump writes them back sorted by name, whatever their stored order. */
const options = (column: string) =>
  `'OPTIONS (' || (SELECT string_agg(o, ', ' ORDER BY o COLLATE "C") FROM unnest(${column}) AS o) || ')'`

const OPERATORS_SQL = `
SELECT 'operator' AS kind,
  ${qualified('n', 'o.oprname')} || '(' || ${typeName('o.oprleft')} || ', ' || ${typeName('o.oprright')} || ')' AS name,
  concat_ws(' ', 'FUNCTION = ' || ${procedure('o.oprcode')}, 'RESULT ' || pg_catalog.format_type(o.oprresult, NULL),
    CASE WHEN o.oprcom <> 0 THEN 'COMMUTATOR = ' || o.oprcom::pg_catalog.regoperator::pg_catalog.text END,
    CASE WHEN o.oprnegate <> 0 THEN 'NEGATOR = ' || o.oprnegate::pg_catalog.regoperator::pg_catalog.text END,
    'RESTRICT = ' || ${procedure('o.oprrest')}, 'JOIN = ' || ${procedure('o.oprjoin')},
    CASE WHEN o.oprcanhash THEN 'HASHES' END, CASE WHEN o.oprcanmerge THEN 'MERGES' END) AS definition
FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE ${inUserSchema('pg_catalog.pg_operator', 'o.oid')}`

/** `schema.family USING am` of a pg_opfamily row `f` (with `fn` its namespace, `fa` its access method). */
const FAMILY_NAME = `${qualified('fn', 'f.opfname')} || ' USING ' || pg_catalog.quote_ident(fa.amname)`

/**
 * Operator families with every member, whichever statement added it (CREATE OPERATOR CLASS or
 * ALTER OPERATOR FAMILY): operators by strategy, support functions by number, sorted as text
 * so that type OIDs play no part.
 */
const OPERATOR_FAMILIES_SQL = `
SELECT 'operator family' AS kind, ${FAMILY_NAME} AS name,
  concat_ws(' ', 'MEMBERS',
    (SELECT string_agg(member, ', ' ORDER BY member COLLATE "C") FROM (
       SELECT 'OPERATOR ' || ao.amopstrategy || ' ' || ao.amopopr::pg_catalog.regoperator::pg_catalog.text
              || CASE WHEN ao.amoppurpose = 'o' THEN ' FOR ORDER BY '
                      || (SELECT ${qualified('sn', 'sf.opfname')} FROM pg_catalog.pg_opfamily sf
                          JOIN pg_catalog.pg_namespace sn ON sn.oid = sf.opfnamespace WHERE sf.oid = ao.amopsortfamily)
                      ELSE '' END AS member
       FROM pg_catalog.pg_amop ao WHERE ao.amopfamily = f.oid
       UNION ALL
       SELECT 'FUNCTION ' || ap.amprocnum || ' (' || pg_catalog.format_type(ap.amproclefttype, NULL) || ', '
              || pg_catalog.format_type(ap.amprocrighttype, NULL) || ') ' || ap.amproc::pg_catalog.regprocedure::pg_catalog.text
       FROM pg_catalog.pg_amproc ap WHERE ap.amprocfamily = f.oid) AS members)) AS definition
FROM pg_catalog.pg_opfamily f
JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace
JOIN pg_catalog.pg_am fa ON fa.oid = f.opfmethod
WHERE ${userNamespaceSql('fn')} AND ${notInExtensionSql('pg_catalog.pg_opfamily', 'f.oid')}`

const OPERATOR_CLASSES_SQL = `
SELECT 'operator class' AS kind, ${qualified('n', 'c.opcname')} || ' USING ' || pg_catalog.quote_ident(a.amname) AS name,
  concat_ws(' ', CASE WHEN c.opcdefault THEN 'DEFAULT' END, 'FOR TYPE ' || pg_catalog.format_type(c.opcintype, NULL),
    'FAMILY ' || (SELECT ${FAMILY_NAME} FROM pg_catalog.pg_opfamily f
                  JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace
                  JOIN pg_catalog.pg_am fa ON fa.oid = f.opfmethod WHERE f.oid = c.opcfamily),
    CASE WHEN c.opckeytype <> 0 THEN 'STORAGE ' || pg_catalog.format_type(c.opckeytype, NULL) END) AS definition
FROM pg_catalog.pg_opclass c
JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace
JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod
WHERE ${inUserSchema('pg_catalog.pg_opclass', 'c.oid')}`

const CASTS_SQL = `
SELECT 'cast' AS kind,
  '(' || pg_catalog.format_type(c.castsource, NULL) || ' AS ' || pg_catalog.format_type(c.casttarget, NULL) || ')' AS name,
  concat_ws(' ',
    CASE c.castmethod WHEN 'f' THEN 'WITH FUNCTION ' || c.castfunc::pg_catalog.regprocedure::pg_catalog.text
                      WHEN 'i' THEN 'WITH INOUT' ELSE 'WITHOUT FUNCTION' END,
    CASE c.castcontext WHEN 'a' THEN 'AS ASSIGNMENT' WHEN 'i' THEN 'AS IMPLICIT' END) AS definition
FROM pg_catalog.pg_cast c
WHERE ${userGlobal('pg_catalog.pg_cast', 'c.oid')}
  -- Casts a type made for itself (a range's multirange constructor, PostgreSQL 14 on) come and go with it.
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass
                  AND i.objid = c.oid AND i.deptype = 'i')`

/**
 * The locale columns moved between majors: 15 added an ICU locale (colliculocale), 17 renamed it
 * (colllocale), 16 added ICU rules. A libc collation is its LC_COLLATE and LC_CTYPE; any other
 * provider's is its locale, which PostgreSQL 14 and older kept in collcollate.
 */
const collationsSql = (version: number) => {
  const locale = version >= 170000 ? 'c.colllocale' : version >= 150000 ? 'c.colliculocale' : 'NULL::text'
  return `
SELECT 'collation' AS kind, ${qualified('n', 'c.collname')} AS name,
  concat_ws(' ', 'PROVIDER ' || CASE c.collprovider WHEN 'i' THEN 'icu' WHEN 'c' THEN 'libc' WHEN 'b' THEN 'builtin' ELSE 'default' END,
    CASE WHEN c.collprovider = 'c'
         THEN 'LC_COLLATE ' || pg_catalog.quote_literal(c.collcollate) || ' LC_CTYPE ' || pg_catalog.quote_literal(c.collctype)
         ELSE 'LOCALE ' || pg_catalog.quote_literal(coalesce(${locale}, c.collcollate)) END,
    ${version >= 160000 ? "'RULES ' || pg_catalog.quote_literal(c.collicurules)," : ''}
    CASE WHEN NOT c.collisdeterministic THEN 'NONDETERMINISTIC' END,
    'ENCODING ' || CASE WHEN c.collencoding = -1 THEN 'any' ELSE pg_catalog.pg_encoding_to_char(c.collencoding) END) AS definition
FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
WHERE ${inUserSchema('pg_catalog.pg_collation', 'c.oid')}`
}

const CONVERSIONS_SQL = `
SELECT 'conversion' AS kind, ${qualified('n', 'c.conname')} AS name,
  concat_ws(' ', CASE WHEN c.condefault THEN 'DEFAULT' END,
    'FOR ' || pg_catalog.quote_literal(pg_catalog.pg_encoding_to_char(c.conforencoding)),
    'TO ' || pg_catalog.quote_literal(pg_catalog.pg_encoding_to_char(c.contoencoding)),
    -- By name: the conversion functions' signature changed in PostgreSQL 14.
    'FROM ' || c.conproc::pg_catalog.regproc::pg_catalog.text) AS definition
FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
WHERE ${inUserSchema('pg_catalog.pg_conversion', 'c.oid')}`

/** A configuration's mappings by token type, each with its dictionaries in the order they are tried. */
const TS_CONFIGURATIONS_SQL = `
SELECT 'text search configuration' AS kind, ${qualified('n', 'c.cfgname')} AS name,
  concat_ws(' ', 'PARSER = ' || (SELECT ${qualified('pn', 'p.prsname')} FROM pg_catalog.pg_ts_parser p
                                 JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = c.cfgparser),
    (SELECT string_agg(mapping, '; ' ORDER BY mapping COLLATE "C") FROM (
       SELECT t.alias || ' WITH ' || string_agg(m.mapdict::pg_catalog.regdictionary::pg_catalog.text, ', ' ORDER BY m.mapseqno) AS mapping
       FROM pg_catalog.pg_ts_config_map m
       JOIN pg_catalog.ts_token_type(c.cfgparser) AS t ON t.tokid = m.maptokentype
       WHERE m.mapcfg = c.oid GROUP BY t.alias) AS mappings)) AS definition
FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
WHERE ${inUserSchema('pg_catalog.pg_ts_config', 'c.oid')}`

const TS_DICTIONARIES_SQL = `
SELECT 'text search dictionary' AS kind, ${qualified('n', 'd.dictname')} AS name,
  concat_ws(' ', 'TEMPLATE = ' || (SELECT ${qualified('tn', 't.tmplname')} FROM pg_catalog.pg_ts_template t
                                   JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate),
    '(' || d.dictinitoption || ')') AS definition
FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
WHERE ${inUserSchema('pg_catalog.pg_ts_dict', 'd.oid')}`

const TS_PARSERS_SQL = `
SELECT 'text search parser' AS kind, ${qualified('n', 'p.prsname')} AS name,
  concat_ws(' ', 'START = ' || ${procedure('p.prsstart')}, 'GETTOKEN = ' || ${procedure('p.prstoken')},
    'END = ' || ${procedure('p.prsend')}, 'HEADLINE = ' || ${procedure('p.prsheadline')},
    'LEXTYPES = ' || ${procedure('p.prslextype')}) AS definition
FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace
WHERE ${inUserSchema('pg_catalog.pg_ts_parser', 'p.oid')}`

const TS_TEMPLATES_SQL = `
SELECT 'text search template' AS kind, ${qualified('n', 't.tmplname')} AS name,
  concat_ws(' ', 'INIT = ' || ${procedure('t.tmplinit')}, 'LEXIZE = ' || ${procedure('t.tmpllexize')}) AS definition
FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace
WHERE ${inUserSchema('pg_catalog.pg_ts_template', 't.oid')}`

const LANGUAGES_SQL = `
SELECT 'language' AS kind, pg_catalog.quote_ident(l.lanname) AS name,
  concat_ws(' ', CASE WHEN l.lanpltrusted THEN 'TRUSTED' END, 'HANDLER ' || ${procedure('l.lanplcallfoid')},
    'INLINE ' || ${procedure('l.laninline')}, 'VALIDATOR ' || ${procedure('l.lanvalidator')}) AS definition
FROM pg_catalog.pg_language l
WHERE ${userGlobal('pg_catalog.pg_language', 'l.oid')}`

const TRANSFORMS_SQL = `
SELECT 'transform' AS kind,
  'FOR ' || pg_catalog.format_type(t.trftype, NULL) || ' LANGUAGE ' || pg_catalog.quote_ident(l.lanname) AS name,
  concat_ws(' ', 'FROM SQL WITH FUNCTION ' || ${procedure('t.trffromsql')},
    'TO SQL WITH FUNCTION ' || ${procedure('t.trftosql')}) AS definition
FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
WHERE ${userGlobal('pg_catalog.pg_transform', 't.oid')}`

const ACCESS_METHODS_SQL = `
SELECT 'access method' AS kind, pg_catalog.quote_ident(a.amname) AS name,
  concat_ws(' ', 'TYPE ' || CASE a.amtype WHEN 'i' THEN 'INDEX' WHEN 't' THEN 'TABLE' ELSE a.amtype::text END,
    'HANDLER ' || ${procedure('a.amhandler')}) AS definition
FROM pg_catalog.pg_am a
WHERE ${userGlobal('pg_catalog.pg_am', 'a.oid')}`

const FOREIGN_DATA_WRAPPERS_SQL = `
SELECT 'foreign data wrapper' AS kind, pg_catalog.quote_ident(w.fdwname) AS name,
  concat_ws(' ', coalesce('HANDLER ' || ${procedure('w.fdwhandler')}, 'NO HANDLER'),
    coalesce('VALIDATOR ' || ${procedure('w.fdwvalidator')}, 'NO VALIDATOR'), ${options('w.fdwoptions')}) AS definition
FROM pg_catalog.pg_foreign_data_wrapper w
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_data_wrapper', 'w.oid')}`

const SERVERS_SQL = `
SELECT 'server' AS kind, pg_catalog.quote_ident(s.srvname) AS name,
  concat_ws(' ', 'TYPE ' || pg_catalog.quote_literal(s.srvtype), 'VERSION ' || pg_catalog.quote_literal(s.srvversion),
    'FOREIGN DATA WRAPPER ' || pg_catalog.quote_ident(w.fdwname), ${options('s.srvoptions')}) AS definition
FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_server', 's.oid')}`

/**
 * User mappings through pg_user_mappings, the view any role may read: its options are NULL
 * where the role may not see them (the rule below is the view's own), which is told apart from
 * a mapping without options. The options come back as an array: they can hold passwords, so
 * they are digested (readUserMappings), never printed.
 */
const USER_MAPPINGS_SQL = `
SELECT pg_catalog.quote_ident(m.usename) AS role, pg_catalog.quote_ident(m.srvname) AS server, m.umoptions AS options,
  (m.umuser <> 0 AND m.usename = current_user
     AND (pg_catalog.pg_has_role(s.srvowner, 'USAGE') OR pg_catalog.has_server_privilege(s.oid, 'USAGE')))
  OR (m.umuser = 0 AND pg_catalog.pg_has_role(s.srvowner, 'USAGE'))
  OR coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false) AS readable
FROM pg_catalog.pg_user_mappings m JOIN pg_catalog.pg_foreign_server s ON s.oid = m.srvid
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_server', 's.oid')}`

const EVENT_TRIGGERS_SQL = `
SELECT 'event trigger' AS kind, pg_catalog.quote_ident(et.evtname) AS name,
  concat_ws(' ', 'ON ' || et.evtevent,
    'WHEN TAG IN (' || (SELECT string_agg(pg_catalog.quote_literal(tag), ', ' ORDER BY tag COLLATE "C") FROM unnest(et.evttags) AS tag) || ')',
    'EXECUTE FUNCTION ' || et.evtfoid::pg_catalog.regprocedure::pg_catalog.text,
    CASE et.evtenabled WHEN 'D' THEN '(DISABLED)' WHEN 'R' THEN '(ENABLE REPLICA)' WHEN 'A' THEN '(ENABLE ALWAYS)' END) AS definition
FROM pg_catalog.pg_event_trigger et
WHERE ${notInExtensionSql('pg_catalog.pg_event_trigger', 'et.oid')}`

const publicationsSql = (version: number) => `
SELECT 'publication' AS kind, pg_catalog.quote_ident(p.pubname) AS name,
  concat_ws(' ', CASE WHEN p.puballtables THEN 'FOR ALL TABLES' END,
    'PUBLISH ' || concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                                  CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END)
    ${version >= 130000 ? ", CASE WHEN p.pubviaroot THEN 'VIA PARTITION ROOT' END" : ''}) AS definition
FROM pg_catalog.pg_publication p
WHERE ${notInExtensionSql('pg_catalog.pg_publication', 'p.oid')}`

/** A publication's tables (with their row filters and column lists, PostgreSQL 15 on) and schemas. */
const publicationMembersSql = (version: number) => `
SELECT 'publication member' AS kind,
  pg_catalog.quote_ident(p.pubname) || ' TABLE ' || ${qualified('n', 'c.relname')} AS name,
  concat_ws(' ', 'TABLE'
    ${
      version >= 150000
        ? `, '(' || (SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attname COLLATE "C")
                     FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)) || ')',
           'WHERE (' || pg_catalog.pg_get_expr(r.prqual, r.prrelid) || ')'`
        : ''
    }) AS definition
FROM pg_catalog.pg_publication_rel r
JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid
JOIN pg_catalog.pg_class c ON c.oid = r.prrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
${
  version >= 150000
    ? `UNION ALL
SELECT 'publication member', pg_catalog.quote_ident(p.pubname) || ' TABLES IN SCHEMA ' || pg_catalog.quote_ident(n.nspname), 'SCHEMA'
FROM pg_catalog.pg_publication_namespace pn
JOIN pg_catalog.pg_publication p ON p.oid = pn.pnpubid
JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid`
    : ''
}`

/**
 * Subscriptions of this database, by the columns any role may read (never the connection
 * string, which holds a password). pg_dump writes them disabled and unconnected, so whether one
 * is enabled is not compared.
 */
const SUBSCRIPTIONS_SQL = `
SELECT 'subscription' AS kind, pg_catalog.quote_ident(s.subname) AS name,
  concat_ws(' ', 'PUBLICATION ' || (SELECT string_agg(pg_catalog.quote_ident(p), ', ' ORDER BY p COLLATE "C") FROM unnest(s.subpublications) AS p),
    coalesce('SLOT ' || pg_catalog.quote_ident(s.subslotname), 'NO SLOT')) AS definition
FROM pg_catalog.pg_subscription s
WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())`

/**
 * Security labels on user objects, named like comments, one per provider. Labels on shared
 * objects (roles, databases) are not written by pg_dump without --create.
 */
const SECURITY_LABELS_SQL = `
SELECT 'security label' AS kind, o.type || ' ' || o.identity || ' FOR ' || pg_catalog.quote_ident(l.provider) AS name,
  l.label AS definition
FROM pg_catalog.pg_seclabel l
CROSS JOIN LATERAL pg_catalog.pg_identify_object(l.classoid, l.objoid, l.objsubid) AS o
LEFT JOIN pg_catalog.pg_namespace n
  ON CASE WHEN l.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN n.oid = l.objoid ELSE n.nspname = o.schema END
WHERE (l.objoid >= ${FIRST_NORMAL_OID} OR l.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
  AND o.identity IS NOT NULL
  AND (CASE WHEN n.oid IS NULL THEN o.schema IS NULL ELSE ${userNamespaceSql('n')} END)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = l.classoid AND e.objid = l.objoid AND e.deptype = 'e')`

/** A user relation `c` with its namespace `n`, not an extension member. */
const USER_RELATION = `${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_class', 'c.oid')}`

/**
 * A partitioned index: whether it is valid (it is once every partition has an attached index)
 * and which partitions' indexes are attached to it (ALTER INDEX ... ATTACH PARTITION), whether
 * it backs a constraint or not.
 */
const PARTITIONED_INDEXES_SQL = `
SELECT 'partitioned index' AS kind, ${qualified('n', 'c.relname')} AS name,
  concat_ws(' ', CASE WHEN i.indisvalid THEN 'VALID' ELSE 'INVALID' END,
    'ATTACHED ' || (SELECT string_agg(${qualified('pn', 'p.relname')}, ', ' ORDER BY pn.nspname COLLATE "C", p.relname COLLATE "C")
                    FROM pg_catalog.pg_inherits h
                    JOIN pg_catalog.pg_class p ON p.oid = h.inhrelid
                    JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
                    WHERE h.inhparent = c.oid)) AS definition
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'I' AND ${USER_RELATION}`

/**
 * What ALTER TABLE ... ALTER COLUMN sets beside type and default: the statistics target, the
 * storage where it is not the type's, attribute options (n_distinct...), the compression method
 * (PostgreSQL 14 on) and a foreign table column's options; for index columns, the statistics
 * target. A view column's default (ALTER VIEW ... ALTER COLUMN SET DEFAULT) is here too, since
 * the column kind leaves views out. Only columns with something set are listed.
 */
const columnSettingsSql = (version: number) => `
SELECT 'column settings' AS kind, ${qualified('n', 'c.relname')} || '.' || pg_catalog.quote_ident(a.attname) AS name, s.definition
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
CROSS JOIN LATERAL (SELECT concat_ws(' ',
    CASE WHEN a.attstattarget >= 0 THEN 'STATISTICS ' || a.attstattarget END,
    CASE WHEN c.relkind NOT IN ('i', 'I') AND a.attstorage <> t.typstorage THEN 'STORAGE ' ||
      CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' WHEN 'x' THEN 'EXTENDED' END END,
    'SET (' || pg_catalog.array_to_string(a.attoptions, ', ') || ')',
    ${version >= 140000 ? "CASE WHEN a.attcompression <> '' THEN 'COMPRESSION ' || a.attcompression::text END," : ''}
    ${options('a.attfdwoptions')},
    CASE WHEN c.relkind = 'v' THEN (SELECT 'DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                                   FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) END
  ) AS definition) AS s
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f', 'm', 'v', 'i', 'I') AND s.definition <> ''
  AND ${USER_RELATION}`

/**
 * Per-table settings the table kind does not print: a typed table's type (OF), a table access
 * method other than heap, and the TOAST table's storage parameters (WITH (toast.*)).
 */
const TABLE_SETTINGS_SQL = `
SELECT 'table settings' AS kind, ${qualified('n', 'c.relname')} AS name, s.definition
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (SELECT concat_ws(' ',
    CASE WHEN c.reloftype <> 0 THEN 'OF ' || pg_catalog.format_type(c.reloftype, NULL) END,
    (SELECT 'USING ' || pg_catalog.quote_ident(am.amname) FROM pg_catalog.pg_am am WHERE am.oid = c.relam AND am.amname <> 'heap'),
    (SELECT 'TOAST WITH (' || pg_catalog.array_to_string(tc.reloptions, ', ') || ')'
     FROM pg_catalog.pg_class tc WHERE tc.oid = c.reltoastrelid)
  ) AS definition) AS s
WHERE c.relkind IN ('r', 'p', 'm') AND s.definition <> '' AND ${USER_RELATION}`

/** ALTER STATISTICS ... SET STATISTICS (PostgreSQL 13 on; NULL rather than -1 for the default from 17). */
const STATISTICS_TARGETS_SQL = `
SELECT 'statistics target' AS kind, ${qualified('n', 's.stxname')} AS name, s.stxstattarget::text AS definition
FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
WHERE s.stxstattarget >= 0 AND ${inUserSchema('pg_catalog.pg_statistic_ext', 's.oid')}`

/**
 * Base types made with CREATE TYPE (input, output and the rest); composite, range, enum and
 * domain types are kinds of their own. Array types follow from their element type.
 */
const baseTypesSql = (version: number) => `
SELECT 'base type' AS kind, ${qualified('n', 't.typname')} AS name,
  concat_ws(' ', 'INPUT = ' || ${procedure('t.typinput')}, 'OUTPUT = ' || ${procedure('t.typoutput')},
    'RECEIVE = ' || ${procedure('t.typreceive')}, 'SEND = ' || ${procedure('t.typsend')},
    'TYPMOD_IN = ' || ${procedure('t.typmodin')}, 'TYPMOD_OUT = ' || ${procedure('t.typmodout')},
    'ANALYZE = ' || ${procedure('t.typanalyze')},
    ${version >= 140000 ? "'SUBSCRIPT = ' || " + procedure('t.typsubscript') + ',' : ''}
    'INTERNALLENGTH = ' || t.typlen, CASE WHEN t.typbyval THEN 'PASSEDBYVALUE' END,
    'ALIGNMENT = ' || t.typalign::text, 'STORAGE = ' || t.typstorage::text, 'CATEGORY = ' || pg_catalog.quote_literal(t.typcategory::text),
    CASE WHEN t.typispreferred THEN 'PREFERRED' END, 'DEFAULT = ' || pg_catalog.quote_literal(t.typdefault),
    CASE WHEN t.typelem <> 0 THEN 'ELEMENT = ' || pg_catalog.format_type(t.typelem, NULL) END,
    'DELIMITER = ' || pg_catalog.quote_literal(t.typdelim::text), CASE WHEN t.typcollation <> 0 THEN 'COLLATABLE' END) AS definition
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'b' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
  AND ${inUserSchema('pg_catalog.pg_type', 't.oid')}`

/**
 * Every attribute of an aggregate (CREATE AGGREGATE's parameters), for FUNCTIONS_SQL's
 * aggregate branch: `p` is the pg_proc row. Parallel safety is the function's own.
 */
export const AGGREGATE_DEFINITION_SQL = `
(SELECT concat_ws(' ', 'AGGREGATE', 'SFUNC = ' || g.aggtransfn::pg_catalog.regprocedure::text,
   'STYPE = ' || pg_catalog.format_type(g.aggtranstype, NULL),
   CASE WHEN g.aggtransspace <> 0 THEN 'SSPACE = ' || g.aggtransspace END,
   CASE WHEN g.aggfinalfn <> 0 THEN 'FINALFUNC = ' || g.aggfinalfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggfinalextra THEN 'FINALFUNC_EXTRA' END, 'FINALFUNC_MODIFY = ' || g.aggfinalmodify::text,
   CASE WHEN g.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || g.aggcombinefn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggserialfn <> 0 THEN 'SERIALFUNC = ' || g.aggserialfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggdeserialfn <> 0 THEN 'DESERIALFUNC = ' || g.aggdeserialfn::pg_catalog.regprocedure::text END,
   'INITCOND = ' || pg_catalog.quote_literal(g.agginitval),
   CASE WHEN g.aggmtransfn <> 0 THEN 'MSFUNC = ' || g.aggmtransfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggminvtransfn <> 0 THEN 'MINVFUNC = ' || g.aggminvtransfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggmtranstype <> 0 THEN 'MSTYPE = ' || pg_catalog.format_type(g.aggmtranstype, NULL) END,
   CASE WHEN g.aggmtransspace <> 0 THEN 'MSSPACE = ' || g.aggmtransspace END,
   CASE WHEN g.aggmfinalfn <> 0 THEN 'MFINALFUNC = ' || g.aggmfinalfn::pg_catalog.regprocedure::text END,
   CASE WHEN g.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
   CASE WHEN g.aggmtransfn <> 0 THEN 'MFINALFUNC_MODIFY = ' || g.aggmfinalmodify::text END,
   'MINITCOND = ' || pg_catalog.quote_literal(g.aggminitval),
   CASE WHEN g.aggsortop <> 0 THEN 'SORTOP = ' || g.aggsortop::pg_catalog.regoperator::text END,
   'KIND = ' || g.aggkind::text, CASE WHEN g.aggnumdirectargs <> 0 THEN 'DIRECTARGS = ' || g.aggnumdirectargs END,
   'PARALLEL = ' || CASE p.proparallel WHEN 's' THEN 'SAFE' WHEN 'r' THEN 'RESTRICTED' ELSE 'UNSAFE' END,
   CASE WHEN p.proisstrict THEN 'STRICT' END,
   'RETURNS ' || pg_catalog.format_type(p.prorettype, NULL))
 FROM pg_catalog.pg_aggregate g WHERE g.aggfnoid = p.oid)`

interface Row {
  kind: CatalogKind
  name: string
  definition: string
}

/** A secret for this process: user mapping options are compared by a keyed digest, never by value. */
const DIGEST_KEY = randomBytes(32)

/**
 * Reads every object of CATALOG_KINDS in the connected database, with the catalog settings
 * already pinned by the caller (withPinnedCatalogSettings). `serverVersionNum` picks the
 * columns the server has.
 */
export async function readCatalogKinds(db: Queryable, serverVersionNum: number): Promise<Row[]> {
  const version = serverVersionNum
  const queries = [
    OPERATORS_SQL,
    OPERATOR_FAMILIES_SQL,
    OPERATOR_CLASSES_SQL,
    CASTS_SQL,
    collationsSql(version),
    CONVERSIONS_SQL,
    TS_CONFIGURATIONS_SQL,
    TS_DICTIONARIES_SQL,
    TS_PARSERS_SQL,
    TS_TEMPLATES_SQL,
    LANGUAGES_SQL,
    TRANSFORMS_SQL,
    ACCESS_METHODS_SQL,
    FOREIGN_DATA_WRAPPERS_SQL,
    SERVERS_SQL,
    EVENT_TRIGGERS_SQL,
    publicationsSql(version),
    publicationMembersSql(version),
    SECURITY_LABELS_SQL,
    PARTITIONED_INDEXES_SQL,
    columnSettingsSql(version),
    TABLE_SETTINGS_SQL,
    baseTypesSql(version)
  ]
  if (version >= 130000) queries.push(STATISTICS_TARGETS_SQL)
  if (await subscriptionsReadable(db)) queries.push(SUBSCRIPTIONS_SQL)
  const rows: Row[] = []
  for (const sql of queries) rows.push(...(await db.query<Row>(sql)))
  rows.push(...(await readUserMappings(db)))
  return rows
}

/** The subscription columns this query reads are granted to every role on 12 and later; checked all the same. */
async function subscriptionsReadable(db: Queryable): Promise<boolean> {
  const [row] = await db.query<{ readable: boolean }>(
    `SELECT bool_and(pg_catalog.has_column_privilege('pg_catalog.pg_subscription', c, 'SELECT')) AS readable
     FROM unnest(ARRAY['subname', 'subdbid', 'subpublications', 'subslotname']) AS c`
  )
  return row.readable
}

/**
 * User mappings, each with its options as a keyed digest (they can hold passwords) and the
 * option names in clear, or UNREADABLE_MAPPING_OPTIONS where the role may not see them.
 */
async function readUserMappings(db: Queryable): Promise<Row[]> {
  const rows = await db.query<{ role: string; server: string; options: string[] | null; readable: boolean }>(USER_MAPPINGS_SQL)
  return rows.map(row => ({
    kind: 'user mapping',
    name: `FOR ${row.role} SERVER ${row.server}`,
    definition: describeMappingOptions(row)
  }))
}

/** Pure: `OPTIONS (password, user) digest 1a2b...`, the same for the same options within one process. */
export function describeMappingOptions(mapping: { options: string[] | null; readable: boolean }): string {
  if (!mapping.readable) return UNREADABLE_MAPPING_OPTIONS
  if (!mapping.options || mapping.options.length === 0) return 'no options'
  // pg_dump writes options sorted by name, whatever their stored order.
  const sorted = [...mapping.options].sort()
  const names = sorted.map(option => option.slice(0, Math.max(0, option.indexOf('='))) || option)
  const digest = createHmac('sha256', DIGEST_KEY).update(JSON.stringify(sorted)).digest('hex').slice(0, 16)
  return `OPTIONS (${names.join(', ')}) digest ${digest}`
}
