/**
 * pg_dump's own ownership and privilege statements, recognised by a strict grammar so that they
 * can leave the unprivileged restore (restore-role: unprivileged) and be replayed afterwards by
 * the clean-room role, which may create roles and hand objects to them. Pure.
 *
 * Why a strict grammar: the replay runs with the clean-room role's rights (a superuser). Only a
 * line that starts and ends at the top level between statements (the sanitizer's lexer decides,
 * sanitize-rules.ts and dump-lexer.ts) AND is, as a whole, one of the forms below leaves the
 * unprivileged stream; everything else, whatever it looks like, stays there and runs as the
 * restore role. The forms are what pg_dump 12 to 18 write (dumputils.c buildACLCommands,
 * pg_backup_archiver.c _printTocEntry and _getObjectDescription):
 *   [ALTER DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] ]GRANT privs ON kind name TO grantee[ WITH GRANT OPTION];
 *   [ALTER DEFAULT PRIVILEGES ...]REVOKE [GRANT OPTION FOR ]privs ON kind name FROM grantee;
 *   ALTER kind name OWNER TO role;    ALTER LARGE OBJECT n OWNER TO role;
 *   SET SESSION AUTHORIZATION role;   RESET SESSION AUTHORIZATION;   (a grant made by another grantor)
 * Names are pg_dump's fmtId: bare lowercase words or double-quoted on one line; function
 * signatures are pg_get_function_identity_arguments' words, quoted names, dots, commas and [].
 * None of these statements runs code: they only write the catalog (the pass checks beforehand
 * that no event trigger exists, privileged-pass.ts). The same grammar is written for GNU sed
 * (the stream) and for JavaScript (the drill's copies, and the check before the replay).
 */

type Flavor = 'sed' | 'js'

/** A role's position in a form: JavaScript captures it, so the replay can substitute a stand-in. */
interface Builder {
  flavor: Flavor
  group(pattern: string): string
  role(pattern: string): string
  schema(pattern: string): string
}

function builder(flavor: Flavor, slots: ('role' | 'schema')[]): Builder {
  const capture = (kind: 'role' | 'schema', pattern: string) => {
    if (flavor === 'sed') return `(${pattern})`
    slots.push(kind)
    return `(${pattern})`
  }
  return {
    flavor,
    group: pattern => (flavor === 'sed' ? `(${pattern})` : `(?:${pattern})`),
    role: pattern => capture('role', pattern),
    schema: pattern => capture('schema', pattern)
  }
}

/** The forms, each built for one flavor; `slots` says what each JavaScript capture is. */
function forms(flavor: Flavor): { source: string; slots: ('role' | 'schema')[] }[] {
  const build = (make: (b: Builder) => string) => {
    const slots: ('role' | 'schema')[] = []
    return { source: make(builder(flavor, slots)), slots }
  }
  // A quoted name may hold line breaks (pg_dump writes them as they are): the statement then spans lines.
  const name = (b: Builder) => b.group('[a-z_][a-z0-9_$]*|"' + b.group('[^"]|""') + '*"')
  const qualified = (b: Builder) => `${b.schema(name(b))}\\.${name(b)}`
  // One argument of a function's identity: mode, name and type words, dots, trailing [].
  const argWord = (b: Builder) => b.group(`${name(b)}|IN|OUT|INOUT|VARIADIC`)
  const argument = (b: Builder) => `${argWord(b)}${b.group(`[ .]${argWord(b)}`)}*${b.group('\\[\\]')}*`
  const signature = (b: Builder) => `\\(${b.group(`${argument(b)}${b.group(`, ${argument(b)}`)}*`)}?\\)`
  // An aggregate's: also (*) and the ORDER BY of an ordered-set aggregate.
  const aggregateSignature = (b: Builder) =>
    `\\(${b.group(`\\*|${argument(b)}${b.group(`, ${argument(b)}`)}*${b.group(` ORDER BY ${argument(b)}${b.group(`, ${argument(b)}`)}*`)}?`)}?\\)`
  const roleName = (b: Builder) => b.role(name(b))
  const grantee = (b: Builder) => b.group(`PUBLIC|GROUP ${roleName(b)}|${roleName(b)}`)
  const privilege = (b: Builder) =>
    `${b.group('ALL|SELECT|INSERT|UPDATE|DELETE|TRUNCATE|REFERENCES|TRIGGER|MAINTAIN|USAGE|CREATE|CONNECT|TEMPORARY|EXECUTE')}${b.group(`\\(${name(b)}\\)`)}?`
  const privileges = (b: Builder) => `${privilege(b)}${b.group(`,${privilege(b)}`)}*`
  const grantObject = (b: Builder) =>
    b.group(
      [
        `${b.group('TABLE|SEQUENCE|TYPE|DOMAIN')} ${qualified(b)}`,
        `${b.group('FUNCTION|PROCEDURE')} ${qualified(b)}${signature(b)}`,
        `SCHEMA ${b.schema(name(b))}`,
        `${b.group('LANGUAGE|FOREIGN DATA WRAPPER|FOREIGN SERVER')} ${name(b)}`,
        'LARGE OBJECT [0-9]+'
      ].join('|')
    )
  // ALTER DEFAULT PRIVILEGES: no object name, so one or two spaces before TO/FROM by pg_dump's version.
  const defaultObject = (b: Builder) => `${b.group('TABLES|SEQUENCES|FUNCTIONS|ROUTINES|TYPES|SCHEMAS')} ?`
  const defaultPrefix = (b: Builder) =>
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${roleName(b)}${b.group(` IN SCHEMA ${b.schema(name(b))}`)}? `
  const grant = (b: Builder, on: string) => `GRANT ${privileges(b)} ON ${on} TO ${grantee(b)}${b.group(' WITH GRANT OPTION')}?;`
  const revoke = (b: Builder, on: string) =>
    `REVOKE ${b.group('GRANT OPTION FOR ')}?${privileges(b)} ON ${on} FROM ${grantee(b)};`
  const operator = (b: Builder) => {
    const operand = b.group(`NONE|${argument(b)}`)
    return `OPERATOR ${b.schema(name(b))}\\.[-+*/<>=~!@#%^&|\`?]+ \\(${operand}, ${operand}\\)`
  }
  const ownedObject = (b: Builder) =>
    b.group(
      [
        `${b.group(
          'TABLE|SEQUENCE|VIEW|MATERIALIZED VIEW|FOREIGN TABLE|TYPE|DOMAIN|COLLATION|CONVERSION|STATISTICS|TEXT SEARCH DICTIONARY|TEXT SEARCH CONFIGURATION'
        )} ${qualified(b)}`,
        `${b.group('FUNCTION|PROCEDURE')} ${qualified(b)}${signature(b)}`,
        `AGGREGATE ${qualified(b)}${aggregateSignature(b)}`,
        operator(b),
        `OPERATOR ${b.group('CLASS|FAMILY')} ${qualified(b)} USING ${name(b)}`,
        `SCHEMA ${b.schema(name(b))}`,
        `${b.group('PROCEDURAL LANGUAGE|LANGUAGE|FOREIGN DATA WRAPPER|SERVER|PUBLICATION|SUBSCRIPTION|EVENT TRIGGER')} ${name(b)}`,
        'LARGE OBJECT [0-9]+'
      ].join('|')
    )
  return [
    build(b => grant(b, grantObject(b))),
    build(b => revoke(b, grantObject(b))),
    build(b => defaultPrefix(b) + grant(b, defaultObject(b))),
    build(b => defaultPrefix(b) + revoke(b, defaultObject(b))),
    build(b => `ALTER ${ownedObject(b)} OWNER TO ${roleName(b)};`),
    build(b => `SET SESSION AUTHORIZATION ${roleName(b)};`),
    build(() => 'RESET SESSION AUTHORIZATION;')
  ]
}

/**
 * The forms as GNU sed extended regular expressions (LC_ALL=C), each matching a whole line
 * without its anchors, for the sanitizing program to route (sanitize-rules.ts).
 */
export function privilegedSedPatterns(): string[] {
  // The program's addresses are delimited by `/`, which an operator's name may hold.
  return forms('sed').map(form => form.source.replace(/\//g, '\\/'))
}

/** The words a privileged statement starts with: a cheap test before the forms. */
export const PRIVILEGED_START = '(GRANT |REVOKE |ALTER |SET SESSION AUTHORIZATION |RESET SESSION AUTHORIZATION;)'

/** Lines a statement may span: a name is at most 63 bytes, and a form names at most a few. */
export const MAX_STATEMENT_LINES = 190

/**
 * The first lines of a privileged statement that a line break inside a quoted name ended: from
 * its first word on, only what the forms are made of outside quotes (words, numbers, spaces,
 * dots, commas, parentheses, `*`, `[]`) and whole quoted names, then a quoted name still open.
 * So every line break read is inside a quoted identifier, as psql's lexer sees it (no string,
 * comment, dollar quote or operator can start outside the quotes): the sanitizer reads on
 * (N) while the text matches, then tests the whole statement against the forms; a statement
 * that is not one goes to the lexer as it is. JavaScript's flavor adds lookaheads so that no
 * text has two readings (no backtracking blow-up on production's names); sed's matcher needs none.
 */
export function privilegedReadOnPattern(flavor: Flavor): string {
  const js = flavor === 'js'
  const word = `[A-Za-z_][A-Za-z0-9_$]*${js ? '(?![A-Za-z0-9_$])' : ''}`
  const number = `[0-9]+${js ? '(?![0-9])' : ''}`
  const quoted = `"([^"]|"")*"${js ? '(?!")' : ''}`
  const start = '(GRANT |REVOKE |ALTER |SET SESSION AUTHORIZATION )'
  return `${start}(${word}|${number}|[ .,()*]|\\[\\]|${quoted})*"([^"]|"")*$`
}

/**
 * A routed statement on one line of the routed file: its line breaks (inside quoted names) as
 * `\n`, backslashes doubled. The sanitizer (sed) and splitPrivileged write it so; the replay reads
 * it back with decodeRouted.
 */
export function encodeRouted(statement: string): string {
  return statement.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

export function decodeRouted(line: string): string {
  return line.replace(/\\(\\|n)/g, (_escape, char: string) => (char === 'n' ? '\n' : '\\'))
}

const JS_FORMS = forms('js').map(form => ({ regex: new RegExp(`^${form.source}$`, 'd'), slots: form.slots }))

/** A privileged statement as the grammar read it: where its role names are, which schemas it touches. */
export interface PrivilegedStatement {
  line: string
  /** Role names (as written, quoted or bare) with their offsets in the line. */
  roles: { start: number; end: number; written: string }[]
  /** Schemas the statement names (unquoted). */
  schemas: string[]
}

/**
 * Reads one dump line as a privileged statement, or undefined when it is not exactly one of the
 * forms. The line is latin1-decoded (a character per byte), as the dump's bytes are.
 */
export function parsePrivilegedStatement(line: string): PrivilegedStatement | undefined {
  for (const form of JS_FORMS) {
    const match = form.regex.exec(line)
    if (!match) continue
    const roles: PrivilegedStatement['roles'] = []
    const schemas: string[] = []
    form.slots.forEach((slot, index) => {
      const span = match.indices?.[index + 1]
      if (!span) return
      const text = line.slice(span[0], span[1])
      if (slot === 'role') roles.push({ start: span[0], end: span[1], written: text })
      else schemas.push(unquoteName(text))
    })
    return { line, roles, schemas }
  }
  return undefined
}

/** A name as fmtId wrote it, unquoted. */
export function unquoteName(written: string): string {
  return written.startsWith('"') ? written.slice(1, -1).replace(/""/g, '"') : written
}

/** A name as fmtId writes it: bare when it is a plain lowercase word, quoted otherwise. */
export function writeName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`
}

/**
 * The statement with each role that has a stand-in replaced by it (names are compared as the
 * dump's bytes, latin1-decoded, as the stand-in map is keyed).
 */
export function withStandIns(statement: PrivilegedStatement, standIns: ReadonlyMap<string, string>): string {
  let out = ''
  let at = 0
  for (const role of statement.roles) {
    const standIn = standIns.get(unquoteName(role.written))
    out += statement.line.slice(at, role.start) + (standIn !== undefined ? writeName(standIn) : role.written)
    at = role.end
  }
  return out + statement.line.slice(at)
}

/**
 * Schemas whose objects are the clean-room server's own, not the dump's: a grant on them (pg_dump
 * writes those made since initdb, such as EXECUTE on pg_catalog.pg_read_file) would give
 * production's roles rights over the clean-room server's files or its own catalog. They are not
 * replayed, and not compared either (privileges.ts compares the dump's objects only).
 */
export const SERVER_SCHEMAS = ['pg_catalog', 'information_schema', 'pg_toast']

/** Whether a statement touches the server's own objects (see SERVER_SCHEMAS). */
export function touchesServerObjects(statement: PrivilegedStatement): boolean {
  return statement.schemas.some(schema => SERVER_SCHEMAS.includes(schema) || schema.startsWith('pg_temp'))
}
