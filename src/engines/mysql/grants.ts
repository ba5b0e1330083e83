/**
 * Reads `SHOW GRANTS` output (pure), to tell whether an account may create and drop Lazarus's
 * scratch databases, whichever way it holds the privileges: granted to it directly, or through
 * its roles.
 *
 * Where the roles' privileges come from:
 * - MySQL 8: `SHOW GRANTS` without FOR lists the effective privileges of the current user with
 *   its active roles (sql/auth/sql_authorization.cc: "SHOW GRANT shows all effective privileges
 *   using the currently active roles for the current user"; `SHOW GRANTS FOR x` without USING
 *   uses no roles). A role is active when it is a default role (SET DEFAULT ROLE), or with
 *   activate_all_roles_on_login; a role granted but not active gives nothing.
 * - MariaDB: `SHOW GRANTS` lists the current user's grants and those of its current role (the
 *   default role, SET DEFAULT ROLE): on 10.11 also those of the roles it inherits and of PUBLIC
 *   (`SHOW GRANTS FOR CURRENT_USER()` lists the user's alone). So that a release that lists less
 *   is still read whole, the run also reads `SHOW GRANTS FOR` each role
 *   information_schema.ENABLED_ROLES names (the current role and those it inherits) and, from
 *   10.11, `SHOW GRANTS FOR PUBLIC`.
 *
 * The lines: `GRANT <privileges> ON <level> TO <grantee>[ ...]`, the privileges `ALL PRIVILEGES`
 * or a comma-separated list (a column privilege with its columns in parentheses), the level
 * `*.*`, `` `db`.* `` (a LIKE pattern: `_` and `%` wildcards, `\_` a literal underscore) or a
 * table or routine; and role grants, `GRANT `r`@`%`,`s`@`%` TO ...` (MySQL) or `GRANT `r` TO ...`
 * (MariaDB). Anything else (REVOKE of a partial revoke, PROXY) gives no privilege here.
 */

/** One GRANT line with privileges, as parsed. */
export interface PrivilegeGrant {
  /** Upper-case privilege names; `ALL` for ALL [PRIVILEGES]. */
  privileges: string[]
  /** The database (a LIKE pattern as written, quotes undone), or `*` for every database. */
  database: string
  /** The table or routine, or `*` for the whole database. */
  object: string
}

/** An identifier as SHOW GRANTS writes one: `backquoted`, 'quoted' or bare. */
const IDENTIFIER = "(`(?:[^`]|``)*`|'(?:[^'\\\\]|''|\\\\.)*'|[A-Za-z0-9_$]+)"
const ACCOUNT = `${IDENTIFIER}(?:@${IDENTIFIER})?`

function unquote(identifier: string): string {
  if (identifier.startsWith('`')) return identifier.slice(1, -1).replace(/``/g, '`')
  if (identifier.startsWith("'")) return identifier.slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1')
  return identifier
}

/** The privileges a GRANT line gives and where, or undefined for any other line. */
export function parsePrivilegeGrant(line: string): PrivilegeGrant | undefined {
  const head = /^GRANT /i.exec(line)
  if (!head) return undefined
  // The privilege list: names of upper-case words, each perhaps with its columns, up to ' ON '.
  const privileges: string[] = []
  let rest = line.slice(head[0].length)
  const column = IDENTIFIER.replace(/^\(/, '(?:')
  const privilege = new RegExp(`^([A-Za-z][A-Za-z_ ]*?)( \\((?:${column}(?:, ?)?)+\\))?(, ?| ON )`)
  for (;;) {
    const match = privilege.exec(rest)
    if (!match) return undefined
    const name = match[1].toUpperCase()
    privileges.push(name === 'ALL PRIVILEGES' ? 'ALL' : name)
    rest = rest.slice(match[0].length)
    if (match[3] === ' ON ') break
  }
  const level = new RegExp(
    `^(?:(?:TABLE|FUNCTION|PROCEDURE|PACKAGE BODY|PACKAGE) )?(\\*|${IDENTIFIER})(?:\\.(\\*|${IDENTIFIER}))? TO `,
    'i'
  ).exec(rest)
  if (!level) return undefined
  // `*` alone is the current database's level; Lazarus's session has none that could matter.
  if (level[3] === undefined) return level[1] === '*' ? undefined : { privileges, database: '*', object: unquote(level[1]) }
  return { privileges, database: level[1] === '*' ? '*' : unquote(level[1]), object: level[3] === '*' ? '*' : unquote(level[3]) }
}

/** The roles a role-grant line grants (`GRANT `r`@`%`,`s` TO ...`), or [] for any other line. */
export function parseRoleGrant(line: string): string[] {
  const match = new RegExp(`^GRANT (${ACCOUNT}(?:, ?${ACCOUNT})*) TO `, 'i').exec(line)
  if (!match) return []
  const roles: string[] = []
  const one = new RegExp(ACCOUNT, 'g')
  for (const role of match[1].matchAll(one))
    roles.push(role[2] === undefined ? unquote(role[1]) : `${unquote(role[1])}@${unquote(role[2])}`)
  return roles
}

/** Whether a database name matches a grant's database pattern (LIKE: `%` any run, `_` any one character, `\` escapes). */
export function databaseMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true
  let regex = ''
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]
    if (char === '\\' && i + 1 < pattern.length) regex += escapeRegExp(pattern[++i])
    else if (char === '%') regex += '.*'
    else if (char === '_') regex += '.'
    else regex += escapeRegExp(char)
  }
  return new RegExp(`^${regex}$`, 'i').test(name)
}

/**
 * Whether the grants give CREATE and DROP on a database named `name` (each may come from another
 * line: the global level, or a database pattern that matches it). Pure.
 */
export function mayCreateAndDrop(grantLines: Iterable<string>, name: string): boolean {
  const held = new Set<string>()
  for (const line of grantLines) {
    const grant = parsePrivilegeGrant(line)
    if (!grant || grant.object !== '*' || !databaseMatches(grant.database, name)) continue
    for (const privilege of grant.privileges) {
      if (privilege === 'ALL') ['CREATE', 'DROP'].forEach(one => held.add(one))
      else held.add(privilege)
    }
  }
  return held.has('CREATE') && held.has('DROP')
}

/** Every role the grant lines grant, once each, in order. */
export function grantedRoles(grantLines: Iterable<string>): string[] {
  return [...new Set([...grantLines].flatMap(parseRoleGrant))]
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
