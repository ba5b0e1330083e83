import { notInExtensionSql, userNamespaceSql } from './figure-queries.js'
import type { Queryable } from './queryable.js'

/**
 * What pg_dump writes that only a superuser can restore. Lazarus's restore role (restore-role.ts)
 * has no superuser rights, so before the dump it asks production's catalog, inside the dump's
 * snapshot, whether the dump will hold any of these; if so, the run stops with one line naming
 * them and the input that allows a superuser restore, rather than ending in a failed restore
 * of a good backup. Each kind is here because PostgreSQL refuses its statement to a role that
 * is not a superuser (and does not own the built-in object it touches):
 * - extensions the clean room does not mark trusted (or not needing a superuser), and the
 *   configuration tables of any extension (their rows are restored into tables the bootstrap
 *   superuser owns);
 * - event triggers, procedural languages, functions in an untrusted language (C, internal,
 *   plperlu...), base types, operator classes and families, access methods, text search parsers
 *   and templates, foreign-data wrappers and the servers that need one, transforms;
 * - casts that are binary-coercible, or between two types the restore role will not own;
 * - publications FOR ALL TABLES or FOR TABLES IN SCHEMA, and subscriptions (pg_dump writes
 *   those only when it runs as a superuser);
 * - a comment on the public schema (pg_dump writes it when it is not the default one).
 * Objects that belong to an extension are left out: CREATE EXTENSION makes them.
 */

/** One object only a superuser can restore: its kind and its name as SQL writes it. */
export interface SuperuserObject {
  kind: string
  name: string
}

/** FirstNormalObjectId: objects below it were made by initdb, and pg_dump leaves them out. */
const FIRST_NORMAL_OID = 16384

function userObjects(catalog: string, alias: string, extra = 'true'): string {
  return `${alias}.oid >= ${FIRST_NORMAL_OID} AND ${notInExtensionSql(`pg_catalog.${catalog}`, `${alias}.oid`)} AND ${extra}`
}

/** Types the restore will own: not made by initdb, not in an extension. */
const RESTORED_TYPE = (oid: string) => `(${oid} >= ${FIRST_NORMAL_OID} AND ${notInExtensionSql('pg_catalog.pg_type', oid)})`

/**
 * The SQL that lists them, on production. $1: the extensions a role without superuser rights may
 * create in the clean room.
 */
export function superuserObjectsSql(productionMajor: number): string {
  const parts = [
    `SELECT 'extension', pg_catalog.quote_ident(x.extname) FROM pg_catalog.pg_extension x
       WHERE x.oid >= ${FIRST_NORMAL_OID} AND NOT (x.extname = ANY ($1::pg_catalog.text[]))`,
    `SELECT 'extension configuration table', c.oid::pg_catalog.regclass::pg_catalog.text
       FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_class c ON c.oid = ANY (x.extconfig)
       WHERE x.oid >= ${FIRST_NORMAL_OID} AND c.relkind IN ('r', 'p')`,
    `SELECT 'event trigger', pg_catalog.quote_ident(et.evtname) FROM pg_catalog.pg_event_trigger et
       WHERE ${notInExtensionSql('pg_catalog.pg_event_trigger', 'et.oid')}`,
    `SELECT 'language', pg_catalog.quote_ident(l.lanname) FROM pg_catalog.pg_language l WHERE ${userObjects('pg_language', 'l')}`,
    `SELECT 'function in language ' || l.lanname, p.oid::pg_catalog.regprocedure::pg_catalog.text
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       WHERE NOT l.lanpltrusted AND ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_proc', 'p.oid')}`,
    `SELECT 'base type', t.oid::pg_catalog.regtype::pg_catalog.text FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       WHERE t.typtype = 'b' AND ${userNamespaceSql('n')} AND ${notInExtensionSql('pg_catalog.pg_type', 't.oid')}
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type elem WHERE elem.typarray = t.oid)`,
    `SELECT 'operator class', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.opcname)
       FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace
       WHERE ${userObjects('pg_opclass', 'o')}`,
    `SELECT 'operator family', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.opfname)
       FROM pg_catalog.pg_opfamily o JOIN pg_catalog.pg_namespace n ON n.oid = o.opfnamespace
       WHERE ${userObjects('pg_opfamily', 'o')}`,
    `SELECT 'access method', pg_catalog.quote_ident(a.amname) FROM pg_catalog.pg_am a WHERE ${userObjects('pg_am', 'a')}`,
    `SELECT 'text search parser', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.prsname)
       FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace
       WHERE ${userObjects('pg_ts_parser', 'p')}`,
    `SELECT 'text search template', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.tmplname)
       FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace
       WHERE ${userObjects('pg_ts_template', 't')}`,
    `SELECT 'foreign-data wrapper', pg_catalog.quote_ident(w.fdwname) FROM pg_catalog.pg_foreign_data_wrapper w
       WHERE ${userObjects('pg_foreign_data_wrapper', 'w')}`,
    `SELECT 'foreign server', pg_catalog.quote_ident(s.srvname) FROM pg_catalog.pg_foreign_server s
       WHERE ${userObjects('pg_foreign_server', 's')}`,
    `SELECT 'transform', t.trftype::pg_catalog.regtype::pg_catalog.text || ' for language ' || l.lanname
       FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
       WHERE ${userObjects('pg_transform', 't')}`,
    `SELECT 'cast', '(' || c.castsource::pg_catalog.regtype::pg_catalog.text || ' AS ' || c.casttarget::pg_catalog.regtype::pg_catalog.text || ')'
       FROM pg_catalog.pg_cast c
       WHERE ${userObjects('pg_cast', 'c', `(c.castmethod = 'b' OR NOT (${RESTORED_TYPE('c.castsource')} OR ${RESTORED_TYPE('c.casttarget')}))`)}`,
    `SELECT 'publication FOR ALL TABLES', pg_catalog.quote_ident(p.pubname) FROM pg_catalog.pg_publication p WHERE p.puballtables`,
    `SELECT 'subscription', pg_catalog.quote_ident(s.subname) FROM pg_catalog.pg_subscription s
       WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
         AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)`,
    `SELECT 'comment on schema', 'public' FROM pg_catalog.pg_namespace n
       WHERE n.nspname = 'public' AND pg_catalog.obj_description(n.oid, 'pg_namespace') <> 'standard public schema'`
  ]
  if (productionMajor >= 15) {
    parts.push(
      `SELECT DISTINCT 'publication FOR TABLES IN SCHEMA', pg_catalog.quote_ident(p.pubname)
         FROM pg_catalog.pg_publication p JOIN pg_catalog.pg_publication_namespace pn ON pn.pnpubid = p.oid`
    )
  }
  return `SELECT kind, name FROM (${parts.map(part => `(${part})`).join('\nUNION ALL\n')}) AS found (kind, name) ORDER BY 1, 2`
}

/** The extensions a role without superuser rights may create in the clean room (trusted, PostgreSQL 13 on). */
export function creatableExtensionsSql(cleanroomMajor: number): string {
  const allowed = cleanroomMajor >= 13 ? '(v.trusted OR NOT v.superuser)' : 'NOT v.superuser'
  return `SELECT v.name FROM pg_catalog.pg_available_extension_versions v
    JOIN pg_catalog.pg_available_extensions a ON a.name = v.name AND a.default_version = v.version
    WHERE ${allowed} ORDER BY 1`
}

/** Reads, on production in the dump's snapshot, what only a superuser could restore. */
export async function readSuperuserObjects(
  production: Queryable,
  productionMajor: number,
  creatableExtensions: string[]
): Promise<SuperuserObject[]> {
  return production.query<SuperuserObject>(superuserObjectsSql(productionMajor), [creatableExtensions])
}

/** Reads the extensions a role without superuser rights may create in the clean room. */
export async function readCreatableExtensions(cleanroom: Queryable, cleanroomMajor: number): Promise<string[]> {
  const rows = await cleanroom.query<{ name: string }>(creatableExtensionsSql(cleanroomMajor))
  return rows.map(row => row.name)
}

/** How many objects the error names before it only counts the rest. */
const NAMED_OBJECTS = 8

/** The one-line error for a dump that needs a superuser to restore. Pure. */
export function superuserObjectsError(objects: SuperuserObject[]): string {
  const named = objects.slice(0, NAMED_OBJECTS).map(object => `${object.kind} ${object.name}`)
  const more = objects.length > NAMED_OBJECTS ? ` and ${objects.length - NAMED_OBJECTS} more` : ''
  return (
    `Production holds what only a superuser can restore (${named.join(', ')}${more}), and the restore runs without ` +
    `superuser rights (restore-role: unprivileged) so that production's code cannot act on the clean-room host: ` +
    `set restore-role: superuser to restore as the clean-room role, trusting production's code with its rights.`
  )
}
