import type { TableName } from '../../util/table-name.js'
import { quoteIdent, notInExtensionSql, userNamespaceSql, userRelationSql } from './figure-queries.js'
import type { Queryable } from './queryable.js'
import type { SchemaObject } from './schema-fingerprint.js'
import { compareText } from '../../util/text-order.js'
import type { NamedRole } from '../types.js'

/**
 * Owners and privileges of everything pg_dump sets them on, as schema objects of three kinds:
 * `owner` (the owning role), `privileges` (the ACL, as psql's \dp prints aclitems, sorted) and
 * `default privileges` (ALTER DEFAULT PRIVILEGES). Compared only when the restore kept owners
 * and privileges (see cleanroom-roles.ts); pure SQL, run through any Queryable.
 */

/**
 * Every object pg_dump writes an owner or an ACL for: relations, columns with column privileges,
 * schemas, functions (aggregates and procedures too), types, procedural languages, large
 * objects, foreign-data wrappers and servers, and the owner-only kinds (collations, conversions,
 * operators, operator classes and families, text search configurations and dictionaries,
 * statistics objects, event triggers, publications). `acltype` is acldefault's letter; NULL
 * where the kind has no ACL. Built-in objects (OID below 16384) and extension members are left
 * out, as pg_dump leaves them out; `public` is the one built-in schema whose owner and ACL
 * pg_dump writes.
 */
const OBJECTS_SQL = `
SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid AS objid, 0 AS objsubid, c.relowner AS owner,
  c.relacl AS acl, CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char" AS acltype
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${userRelationSql('c', 'n')}
UNION ALL
SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid, a.attnum, NULL, a.attacl, 'c'
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${userRelationSql('c', 'n')}
UNION ALL
SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, n.oid, 0, n.nspowner, n.nspacl, 'n'
FROM pg_catalog.pg_namespace n
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_namespace', 'n.oid')}
UNION ALL
SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, 0, p.proowner, p.proacl, 'f'
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_proc', 'p.oid')}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                  AND i.objid = p.oid AND i.deptype = 'i')
UNION ALL
SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, 0, t.typowner, t.typacl, 'T'
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r') AND ${userNamespaceSql('n')}
  AND ${notInExtensionSql('pg_catalog.pg_type', 't.oid')}
  AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
UNION ALL
SELECT 'pg_catalog.pg_language'::pg_catalog.regclass, l.oid, 0, l.lanowner, l.lanacl, 'l'
FROM pg_catalog.pg_language l
WHERE l.oid >= 16384 AND ${notInExtensionSql('pg_catalog.pg_language', 'l.oid')}
UNION ALL
SELECT 'pg_catalog.pg_largeobject'::pg_catalog.regclass, m.oid, 0, m.lomowner, m.lomacl, 'L'
FROM pg_catalog.pg_largeobject_metadata m
UNION ALL
SELECT 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass, w.oid, 0, w.fdwowner, w.fdwacl, 'F'
FROM pg_catalog.pg_foreign_data_wrapper w
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_data_wrapper', 'w.oid')}
UNION ALL
SELECT 'pg_catalog.pg_foreign_server'::pg_catalog.regclass, s.oid, 0, s.srvowner, s.srvacl, 'S'
FROM pg_catalog.pg_foreign_server s
WHERE ${notInExtensionSql('pg_catalog.pg_foreign_server', 's.oid')}
${ownerOnly('pg_collation', 'collowner', 'collnamespace')}
${ownerOnly('pg_conversion', 'conowner', 'connamespace')}
${ownerOnly('pg_operator', 'oprowner', 'oprnamespace')}
${ownerOnly('pg_opclass', 'opcowner', 'opcnamespace')}
${ownerOnly('pg_opfamily', 'opfowner', 'opfnamespace')}
${ownerOnly('pg_ts_config', 'cfgowner', 'cfgnamespace')}
${ownerOnly('pg_ts_dict', 'dictowner', 'dictnamespace')}
${ownerOnly('pg_statistic_ext', 'stxowner', 'stxnamespace')}
${ownerOnly('pg_event_trigger', 'evtowner')}
${ownerOnly('pg_publication', 'pubowner')}`

/** A kind that has an owner but no ACL; in a user schema when it lives in one, never an extension's. */
function ownerOnly(catalog: string, ownerColumn: string, namespaceColumn?: string): string {
  const inUserSchema = namespaceColumn
    ? `AND EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = x.${namespaceColumn} AND ${userNamespaceSql('n')})`
    : 'AND x.oid >= 16384'
  return `UNION ALL
SELECT 'pg_catalog.${catalog}'::pg_catalog.regclass, x.oid, 0, x.${ownerColumn}, NULL, NULL
FROM pg_catalog.${catalog} x
WHERE ${notInExtensionSql(`pg_catalog.${catalog}`, 'x.oid')} ${inUserSchema}`
}

/** Default privileges: per role, in one schema or everywhere. */
const DEFAULT_ACLS_SQL = `
SELECT d.oid AS objid, d.defaclrole AS owner, d.defaclacl AS acl
FROM pg_catalog.pg_default_acl d
WHERE d.defaclnamespace = 0
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = d.defaclnamespace AND ${userNamespaceSql('n')})`

/**
 * A role name as the restored copy spells it, mapped back to production's when it is a stand-in
 * (see cleanroom-roles.ts): `standins` is a relation (standin, original, acl_name) of the query.
 */
const roleText = (
  oid: string
) => `coalesce((SELECT m.original FROM standins m WHERE m.standin = pg_catalog.pg_get_userbyid(${oid})),
  pg_catalog.pg_get_userbyid(${oid}))`

/** An aclitem's text with a stand-in grantee (`standin=`) or grantor (`/standin`) spelled as its original. */
const aclItemText = (
  item: string
) => `(SELECT coalesce((SELECT pg_catalog.left(g, pg_catalog.length(g) - pg_catalog.length(m.standin)) || m.acl_name
    FROM standins m WHERE pg_catalog.right(g, pg_catalog.length(m.standin) + 1) = '/' || m.standin), g)
  FROM (SELECT coalesce((SELECT m.acl_name || pg_catalog.substr(${item}, pg_catalog.length(m.standin) + 1)
    FROM standins m WHERE pg_catalog.starts_with(${item}, m.standin || '=')), ${item}) AS g) AS grantee)`

/** An ACL as sorted aclitems; a NULL ACL means the kind's default for this owner, which is what pg_dump restores. */
const aclText = (acl: string) =>
  `(SELECT pg_catalog.string_agg(t, ' ' ORDER BY t COLLATE "C")
    FROM unnest(${acl}) AS item CROSS JOIN LATERAL (SELECT ${aclItemText('item::text')} AS t) AS mapped)`

/**
 * Stand-ins ($1) and the roles they play ($2): the clean room's pre-existing roles never own the
 * dump's objects (cleanroom-roles.ts), Lazarus roles play them, and this names them back. An
 * aclitem spells a name its own way (quoted when it holds anything but letters, digits and _):
 * makeaclitem on the original, when it exists in the clean room, says how; a predefined role the
 * clean room lacks (predefined-roles.ts, letters and _ only) is spelled as putid() in acl.c would.
 */
const standInsSql = (standIns: string, originals: string) => `standins(standin, original, acl_name) AS (
  SELECT m.standin, m.original,
    coalesce((SELECT pg_catalog.left(t, (pg_catalog.length(t) - 3) / 2)
     FROM (SELECT pg_catalog.makeaclitem(r.oid, r.oid, 'SELECT', false)::text AS t
           FROM pg_catalog.pg_roles r WHERE r.rolname = m.original) AS a),
     CASE WHEN m.original ~ '^[A-Za-z0-9_]+$' THEN m.original
          ELSE '"' || pg_catalog.replace(m.original, '"', '""') || '"' END)
  FROM unnest(${standIns}::pg_catalog.text[], ${originals}::pg_catalog.text[]) AS m(standin, original))`

/** A default ACL's identity (`for role r ...`) with a stand-in role named as the one it plays. */
const defaultAclName = (identity: string) =>
  `coalesce((SELECT 'for role ' || pg_catalog.quote_ident(m.original) || pg_catalog.substr(${identity}, pg_catalog.length('for role ' || m.standin) + 1)
            FROM standins m WHERE pg_catalog.starts_with(${identity}, 'for role ' || m.standin || ' ')), ${identity})`

/** PRIVILEGES_SQL with stand-ins named as the roles they play ($1 stand-ins, $2 their roles). */
const MAPPED_PRIVILEGES_SQL = `
WITH objects AS (${OBJECTS_SQL}), ${standInsSql('$1', '$2')}
SELECT 'owner' AS kind, o.type || ' ' || o.identity AS name, pg_catalog.quote_ident(${roleText('x.owner')}) AS definition
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.owner IS NOT NULL
UNION ALL
SELECT 'privileges', o.type || ' ' || o.identity,
  coalesce(${aclText('coalesce(x.acl, pg_catalog.acldefault(x.acltype, coalesce(x.owner, 0)))')}, '(none)')
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.acltype IS NOT NULL
UNION ALL
SELECT 'default privileges', ${defaultAclName('o.identity')},
  coalesce(${aclText('d.acl')}, '(none)')
FROM (${DEFAULT_ACLS_SQL}) AS d
CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_default_acl'::pg_catalog.regclass, d.objid, 0) AS o`

/** An ACL as sorted aclitems, as the server spells them (no stand-ins: production's side and manifests). */
const plainAclText = (acl: string) =>
  `(SELECT pg_catalog.string_agg(item::text, ' ' ORDER BY item::text COLLATE "C") FROM unnest(${acl}) AS item)`

export const PRIVILEGES_SQL = `
WITH objects AS (${OBJECTS_SQL})
SELECT 'owner' AS kind, o.type || ' ' || o.identity AS name, pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.owner)) AS definition
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.owner IS NOT NULL
UNION ALL
SELECT 'privileges', o.type || ' ' || o.identity,
  coalesce(${plainAclText('coalesce(x.acl, pg_catalog.acldefault(x.acltype, coalesce(x.owner, 0)))')}, '(none)')
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.acltype IS NOT NULL
UNION ALL
SELECT 'default privileges', o.identity, coalesce(${plainAclText('d.acl')}, '(none)')
FROM (${DEFAULT_ACLS_SQL}) AS d
CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_default_acl'::pg_catalog.regclass, d.objid, 0) AS o`

/**
 * What an ACL takes from and adds to its server's default, as pg_dump restores it: `-grantee/grantor`
 * for each default item the ACL lacks (pg_dump revokes it), then each item the default lacks (pg_dump
 * grants it), sorted; `default` for none. `acl` and `base` are aclitem[] expressions.
 */
const aclDelta = (
  acl: string,
  base: string
) => `coalesce((SELECT pg_catalog.string_agg(item, ' ' ORDER BY item COLLATE "C") FROM (
    SELECT '-' || (SELECT pg_catalog.string_agg(DISTINCT CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(${roleText('e.grantee')}) END
                     || '/' || pg_catalog.quote_ident(${roleText('e.grantor')}), ' ')
                   FROM pg_catalog.aclexplode(ARRAY[base_item]) AS e) AS item
    FROM unnest(${base}) AS base_item WHERE NOT (base_item = ANY (coalesce(${acl}, ${base})))
    UNION ALL
    SELECT ${aclItemText('acl_item::text')} FROM unnest(coalesce(${acl}, ${base})) AS acl_item WHERE NOT (acl_item = ANY (coalesce(${base}, '{}')))) AS items), 'default')`

/**
 * An object's ACL as its server made it: initdb's (pg_init_privs) for the one built-in object
 * pg_dump writes the ACL of, the `public` schema, as pg_dump takes it (PostgreSQL 15 made it
 * `pg_database_owner=UC, =U` where 14 and older gave PUBLIC CREATE too); the kind's default otherwise.
 */
const INITIAL_ACL = `coalesce((SELECT i.initprivs FROM pg_catalog.pg_init_privs i
    WHERE i.objoid = x.objid AND i.classoid = x.classid AND i.objsubid = x.objsubid AND i.privtype = 'i'),
  pg_catalog.acldefault(x.acltype, coalesce(x.owner, 0)))`

/**
 * The privileges and default privileges kinds as changes to the reading server's default ACLs
 * (aclDelta), for comparing across majors whose defaults differ (PostgreSQL 17 gives an owner
 * MAINTAIN): `kind`, `name` as PRIVILEGES_SQL names them, `delta`. A schema's default privileges
 * start empty; global ones start from the kind's default for their role, as pg_dump assumes.
 */
export function privilegeDeltasSql(standIns = '$3', originals = '$4'): string {
  return `
WITH objects AS (${OBJECTS_SQL}), ${standInsSql(standIns, originals)}
SELECT 'privileges' AS kind, o.type || ' ' || o.identity AS name,
  ${aclDelta('x.acl', INITIAL_ACL)} AS delta
FROM objects x CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) AS o
WHERE x.acltype IS NOT NULL
UNION ALL
SELECT 'default privileges', ${defaultAclName('o.identity')},
  ${aclDelta(
    'd.defaclacl',
    `CASE WHEN d.defaclnamespace = 0
          THEN pg_catalog.acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END, d.defaclrole)
          ELSE '{}'::pg_catalog.aclitem[] END`
  )}
FROM pg_catalog.pg_default_acl d
CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_default_acl'::pg_catalog.regclass, d.oid, 0) AS o
WHERE d.defaclnamespace = 0
   OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = d.defaclnamespace AND ${userNamespaceSql('n')})`
}

/**
 * Every role the dump names, as production spells it: owners of the objects above; grantors and
 * grantees of every ACL in the database (PUBLIC is no role), the system's and extensions' objects
 * included, since pg_dump also writes the grants made on those since their creation; default
 * privileges' roles; the roles of row-level security policies and of user mappings. A restore
 * with owners and privileges needs each of them in the clean room. `superuser`: the role is one
 * in production, as the owner of a foreign-data wrapper or an event trigger must be.
 */
export const NAMED_ROLES_SQL = `
WITH objects AS (${OBJECTS_SQL}),
acls(acl) AS (
  SELECT relacl FROM pg_catalog.pg_class WHERE relacl IS NOT NULL
  UNION ALL SELECT attacl FROM pg_catalog.pg_attribute WHERE attacl IS NOT NULL
  UNION ALL SELECT nspacl FROM pg_catalog.pg_namespace WHERE nspacl IS NOT NULL
  UNION ALL SELECT proacl FROM pg_catalog.pg_proc WHERE proacl IS NOT NULL
  UNION ALL SELECT typacl FROM pg_catalog.pg_type WHERE typacl IS NOT NULL
  UNION ALL SELECT lanacl FROM pg_catalog.pg_language WHERE lanacl IS NOT NULL
  UNION ALL SELECT lomacl FROM pg_catalog.pg_largeobject_metadata WHERE lomacl IS NOT NULL
  UNION ALL SELECT fdwacl FROM pg_catalog.pg_foreign_data_wrapper WHERE fdwacl IS NOT NULL
  UNION ALL SELECT srvacl FROM pg_catalog.pg_foreign_server WHERE srvacl IS NOT NULL
  UNION ALL SELECT defaclacl FROM pg_catalog.pg_default_acl
),
named(role) AS (
  SELECT owner FROM objects WHERE owner IS NOT NULL
  UNION SELECT (pg_catalog.aclexplode(acl)).grantee FROM acls
  UNION SELECT (pg_catalog.aclexplode(acl)).grantor FROM acls
  UNION SELECT defaclrole FROM pg_catalog.pg_default_acl
  UNION SELECT unnest(polroles) FROM pg_catalog.pg_policy
  UNION SELECT umuser FROM pg_catalog.pg_user_mappings
)
SELECT r.rolname AS name, r.rolsuper AS superuser FROM named JOIN pg_catalog.pg_roles r ON r.oid = named.role
ORDER BY r.rolname COLLATE "C"`

/**
 * Owners, privileges and default privileges of the connected database, sorted by kind and name;
 * `standIns` (stand-in to the role it plays) names stand-ins as the roles they play.
 */
export async function readPrivileges(db: Queryable, standIns: ReadonlyMap<string, string> = new Map()): Promise<SchemaObject[]> {
  // Without stand-ins, the statement manifests record (FIGURE_METHODS.schemaFingerprint) stays as it was.
  const rows =
    standIns.size === 0
      ? await db.query<SchemaObject>(PRIVILEGES_SQL)
      : await db.query<SchemaObject>(MAPPED_PRIVILEGES_SQL, [[...standIns.keys()], [...standIns.values()]])
  return rows.sort((a, b) => compareText(a.kind, b.kind) || compareText(a.name, b.name))
}

/** A role production's dump names, and whether it is a superuser there (engines/types.ts). */
export type { NamedRole }

/** The roles production's dump names (see NAMED_ROLES_SQL). */
export async function readNamedRoles(db: Queryable): Promise<NamedRole[]> {
  return db.query<NamedRole>(NAMED_ROLES_SQL)
}

/** A relation or schema as the drill's drop-grant and change-owner operators aim at it. */
export interface PrivilegeTarget {
  /** How GRANT names its kind in the dump: TABLE (also views, foreign tables), SEQUENCE, SCHEMA. */
  keyword: 'TABLE' | 'SEQUENCE' | 'SCHEMA'
  /** Unquoted; null for a schema. */
  schema: string | null
  name: string
  /** As the owner and privileges kinds name it: `table s.t`, `schema s`. */
  identity: string
  owner: string
  /** A table (ordinary or partitioned), whose owner pg_dump sets with ALTER TABLE. */
  table: boolean
  /** Its ACL grants something to a role other than its owner (or to PUBLIC). */
  grantsToOthers: boolean
  /** Sequences its serial columns own: they must keep the table's owner. */
  ownedSequences: TableName[]
}

export const PRIVILEGE_TARGETS_SQL = `
SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS keyword, n.nspname AS schema, c.relname AS name,
  o.type || ' ' || o.identity AS identity, pg_catalog.pg_get_userbyid(c.relowner) AS owner, c.relkind IN ('r', 'p') AS "table",
  EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee <> c.relowner) AS "grantsToOthers",
  coalesce((SELECT json_agg(json_build_object('schema', sn.nspname, 'name', s.relname))
            FROM pg_catalog.pg_depend d
            JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
            WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
              AND d.refobjid = c.oid AND d.deptype IN ('a', 'i')), '[]') AS "ownedSequences"
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0) AS o
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND ${userRelationSql('c', 'n')}
UNION ALL
SELECT 'SCHEMA', NULL, n.nspname, 'schema ' || pg_catalog.quote_ident(n.nspname), pg_catalog.pg_get_userbyid(n.nspowner), false,
  EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a WHERE a.grantee <> n.nspowner), '[]'::json
FROM pg_catalog.pg_namespace n
WHERE ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_namespace', 'n.oid')}`

export async function readPrivilegeTargets(db: Queryable): Promise<PrivilegeTarget[]> {
  const rows = await db.query<PrivilegeTarget>(PRIVILEGE_TARGETS_SQL)
  return rows.sort((a, b) => compareText(a.identity, b.identity))
}

/** Role names for a message: quoted as SQL quotes them, line breaks spelled out so a name cannot start a log line. */
export function listNames(names: string[]): string {
  return names.map(name => quoteIdent(name).replace(/[\r\n]/g, char => (char === '\n' ? '\\n' : '\\r'))).join(', ')
}
