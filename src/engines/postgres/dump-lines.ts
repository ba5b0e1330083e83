import type { TableName } from '../../util/table-name.js'

/**
 * Reading the lines of a plain pg_dump file as pg_dump writes them: COPY headers and fields,
 * CREATE INDEX, ALTER TABLE ... ADD CONSTRAINT and setval statements. Pure: no I/O, no catalog.
 */

/** Which lines are row data and where statements start: the lexer the sanitizer's sed program also runs. */
export { dumpLexer, sqlLineTracker } from './dump-lexer.js'

/**
 * Parses `COPY schema.table (col, "Col") FROM stdin;` into unquoted names. The header may span
 * lines (joined by \n) when a quoted name holds a line break.
 */
export function parseCopyHeader(line: string): { schema: string; name: string; columns: string[] } | undefined {
  if (!line.startsWith('COPY ') || !line.endsWith(' FROM stdin;')) return undefined
  const tokens = tokenizeIdentifiers(line.slice(5, -' FROM stdin;'.length))
  if (!tokens) return undefined
  // schema . name [ ( col , col ... ) ]
  if (tokens.length < 3 || tokens[1] !== '.') return undefined
  const columns: string[] = []
  if (tokens.length > 3) {
    if (tokens[3] !== '(' || tokens[tokens.length - 1] !== ')') return undefined
    for (const token of tokens.slice(4, -1)) if (token !== ',') columns.push(unquote(token))
  }
  return { schema: unquote(tokens[0]), name: unquote(tokens[2]), columns }
}

function tokenizeIdentifiers(text: string): string[] | undefined {
  const tokens: string[] = []
  let i = 0
  while (i < text.length) {
    const char = text[i]
    if (char === ' ' || char === '\n') {
      i++
    } else if (char === '"') {
      const end = quotedEnd(text, i)
      if (end === undefined) return undefined
      tokens.push(text.slice(i, end))
      i = end
    } else if ('.,()'.includes(char)) {
      tokens.push(char)
      i++
    } else {
      let j = i
      while (j < text.length && !' .,()"'.includes(text[j])) j++
      tokens.push(text.slice(i, j))
      i = j
    }
  }
  return tokens
}

/** The index just past the closing quote of the quoted identifier starting at `start`. */
function quotedEnd(text: string, start: number): number | undefined {
  let j = start + 1
  while (j < text.length) {
    if (text[j] === '"' && text[j + 1] === '"') j += 2
    else if (text[j] === '"') return j + 1
    else j++
  }
  return undefined
}

function unquote(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token
}

/** Reads one identifier (quoted or bare) at `start`: its unquoted value and where it ends. */
export function readIdentifier(text: string, start: number): { value: string; end: number } | undefined {
  if (text[start] === '"') {
    const end = quotedEnd(text, start)
    return end === undefined ? undefined : { value: unquote(text.slice(start, end)), end }
  }
  let end = start
  while (end < text.length && !' .,()";'.includes(text[end])) end++
  return end > start ? { value: text.slice(start, end), end } : undefined
}

/** Reads `schema.name` at `start`. */
export function readQualifiedName(text: string, start: number): { schema: string; name: string; end: number } | undefined {
  const schema = readIdentifier(text, start)
  if (!schema || text[schema.end] !== '.') return undefined
  const name = readIdentifier(text, schema.end + 1)
  return name ? { schema: schema.value, name: name.value, end: name.end } : undefined
}

/** Parses `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table ...`: the index lives in the table's schema. */
export function parseCreateIndex(line: string): { schema: string; table: string; name: string } | undefined {
  const prefix = /^CREATE (?:UNIQUE )?INDEX /.exec(line)
  if (!prefix) return undefined
  const name = readIdentifier(line, prefix[0].length)
  if (!name || !line.startsWith(' ON ', name.end)) return undefined
  let at = name.end + ' ON '.length
  if (line.startsWith('ONLY ', at)) at += 'ONLY '.length
  const table = readQualifiedName(line, at)
  if (!table || line[table.end] !== ' ') return undefined
  return { schema: table.schema, table: table.name, name: name.value }
}

/**
 * Parses `CREATE FUNCTION schema.name(arguments) RETURNS ...` or `CREATE PROCEDURE schema.name(arguments)`
 * (`OR REPLACE` too): `arguments` as pg_dump writes them, pg_get_function_arguments' text.
 */
export function parseCreateFunction(line: string): { schema: string; name: string; arguments: string } | undefined {
  const prefix = /^CREATE (?:OR REPLACE )?(?:FUNCTION|PROCEDURE) /.exec(line)
  if (!prefix) return undefined
  const name = readQualifiedName(line, prefix[0].length)
  if (!name || line[name.end] !== '(') return undefined
  // The arguments end at the last ')' before RETURNS, or at the end of a procedure's line.
  const rest = line.slice(name.end + 1)
  const returns = rest.lastIndexOf(') RETURNS ')
  const end = returns >= 0 ? returns : rest.endsWith(')') ? rest.length - 1 : -1
  if (end < 0) return undefined
  return { schema: name.schema, name: name.name, arguments: rest.slice(0, end) }
}

/** Parses a line holding only `ALTER TABLE [ONLY] schema.table`, as pg_dump opens ADD CONSTRAINT. */
export function parseAlterTable(line: string): TableName | undefined {
  if (!line.startsWith('ALTER TABLE ')) return undefined
  let at = 'ALTER TABLE '.length
  if (line.startsWith('ONLY ', at)) at += 'ONLY '.length
  const table = readQualifiedName(line, at)
  return table && table.end === line.length ? { schema: table.schema, name: table.name } : undefined
}

export function parseAddConstraintName(line: string): string | undefined {
  const prefix = '    ADD CONSTRAINT '
  if (!line.startsWith(prefix)) return undefined
  const name = readIdentifier(line, prefix.length)
  return name && line[name.end] === ' ' ? name.value : undefined
}

/** Parses `SELECT pg_catalog.setval('schema.name', N, true|false);` as pg_dump writes it. */
export function parseSetval(
  line: string
): { schema: string; name: string; literal: string; value: string; called: boolean } | undefined {
  const match = /^SELECT pg_catalog\.setval\('((?:[^']|'')*)', (-?\d+), (true|false)\);$/.exec(line)
  if (!match) return undefined
  const name = match[1].replace(/''/g, "'")
  const qualified = readQualifiedName(name, 0)
  if (!qualified || qualified.end !== name.length) return undefined
  return { schema: qualified.schema, name: qualified.name, literal: match[1], value: match[2], called: match[3] === 'true' }
}

/** How many characters the COPY text escape starting with the backslash at `at` takes. */
function escapeLength(field: string, at: number): number {
  const next = field[at + 1]
  if (next !== undefined && next >= '0' && next <= '7') {
    let end = at + 1
    while (end < field.length && end < at + 4 && field[end] >= '0' && field[end] <= '7') end++
    return end - at
  }
  if (next === 'x' && /[0-9a-fA-F]/.test(field[at + 2] ?? '')) return /[0-9a-fA-F]/.test(field[at + 3] ?? '') ? 4 : 3
  return next === undefined ? 1 : 2
}

/** Another letter of the same case or another digit: `z` becomes `y`, any other moves one up. */
function replacementFor(char: string): string | undefined {
  if (/[a-yA-Y0-8]/.test(char)) return String.fromCharCode(char.charCodeAt(0) + 1)
  if (/[zZ9]/.test(char)) return String.fromCharCode(char.charCodeAt(0) - 1)
  return undefined
}

/** One plain letter or digit of a COPY text field changed, outside escapes; undefined when it has none. */
export function mutateFirstCharacter(field: string): string | undefined {
  if (field === '\\N') return undefined
  for (let i = 0; i < field.length; i++) {
    if (field[i] === '\\') {
      i += escapeLength(field, i) - 1
      continue
    }
    const replacement = replacementFor(field[i])
    if (replacement !== undefined) return field.slice(0, i) + replacement + field.slice(i + 1)
  }
  return undefined
}

/** One character of a function body changed: its first digit (a constant), else its first letter. */
export function mutateBodyCharacter(body: string): string | undefined {
  const at = body.search(/[0-9]/) >= 0 ? body.search(/[0-9]/) : body.search(/[a-zA-Z]/)
  if (at < 0) return undefined
  return body.slice(0, at) + replacementFor(body[at])! + body.slice(at + 1)
}

/**
 * A number's last digit changed, so precision and scale hold. Digits 0-4 go up and 5-9 go down:
 * the limits of int2, int4 and int8 end in 7 (8 when negative), so the value never overflows.
 */
export function mutateLastDigit(field: string): string | undefined {
  if (!/^-?\d+(\.\d+)?$/.test(field)) return undefined
  const at = field.length - 1
  const digit = Number(field[at])
  return field.slice(0, at) + String(digit <= 4 ? digit + 1 : digit - 1)
}

/** A COPY text field as a reader expects it: escapes decoded, NULL spelled out (bytes stay bytes). */
export function displayCopyValue(field: string): string {
  if (field === '\\N') return 'NULL'
  let decoded = ''
  for (let i = 0; i < field.length; i++) {
    if (field[i] !== '\\') {
      decoded += field[i]
      continue
    }
    const length = escapeLength(field, i)
    const escape = field.slice(i + 1, i + length)
    const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }
    if (/^[0-7]+$/.test(escape)) decoded += String.fromCharCode(parseInt(escape, 8) & 0xff)
    else if (escape.startsWith('x') && escape.length > 1) decoded += String.fromCharCode(parseInt(escape.slice(1), 16))
    else decoded += simple[escape] ?? escape
    i += length - 1
  }
  // Still bytes, as the line was: the evidence it lands in is decoded once, in the dump's encoding (dump-encoding.ts).
  return decoded
}
