import type { CheckDialect, SqlToken as Token } from '../engines/types.js'

/**
 * The `checks` file: named queries that production and the restored copy must answer alike.
 *
 *   -- check: latest order
 *   -- expect: 1042
 *   SELECT max(id) FROM orders;
 *
 * Each check starts at a `-- check: <name>` line; `-- expect: <value>` and `-- timeout: <seconds>`
 * may follow right after it, before the query. Pure: it parses text and names the line at fault.
 * Strings, comments and statements are the engine's SQL: its lexer (the `userChecks` capability's
 * dialect) finds them.
 */

/** One named query of the checks file. */
export interface CheckDefinition {
  name: string
  /** The query, without its trailing semicolon. */
  sql: string
  /** The single value both sides must return: its text output, or null for SQL NULL (`-- expect: NULL`). */
  expect?: string | null
  /** Compared as an ordered list: the query has an ORDER BY of its own (outside parentheses). */
  ordered: boolean
  /** The query's statement timeout in seconds. */
  timeoutSeconds: number
  /** Line of its `-- check:` line, for messages. */
  line: number
}

/** How long one check may run on each side unless its `-- timeout:` says otherwise. */
export const DEFAULT_CHECK_TIMEOUT_SECONDS = 300
const MAX_NAME_LENGTH = 200

/** A malformed checks file; the message names the line and says what to fix. */
export class ChecksFileError extends Error {}

const DIRECTIVE = /^--\s*(check|expect|timeout)\s*:(.*)$/i

interface Directive {
  name: 'check' | 'expect' | 'timeout'
  value: string
  token: Token
}

/** A line comment that is a directive: it must stand alone on its line. */
function directiveOf(token: Token, text: string): Directive | undefined {
  if (token.kind !== 'line-comment') return undefined
  const match = DIRECTIVE.exec(token.text.replace(/\r$/, ''))
  if (!match) return undefined
  const lineStart = text.lastIndexOf('\n', token.start - 1) + 1
  if (text.slice(lineStart, token.start).trim() !== '') return undefined
  return { name: match[1].toLowerCase() as Directive['name'], value: match[2].trim(), token }
}

/** Parses a checks file. Throws a ChecksFileError naming the line for anything malformed. */
export function parseChecksFile(text: string, dialect: CheckDialect): CheckDefinition[] {
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length
  const scanned = dialect.scan(text)
  if ('unterminated' in scanned) {
    const { message, start } = scanned.unterminated
    throw new ChecksFileError(`line ${lineOf(start)}: ${message}; close it or remove it.`)
  }
  const { tokens } = scanned

  interface Draft {
    name: string
    line: number
    expect?: string | null
    timeout?: number
    body: Token[]
  }
  const drafts: Draft[] = []
  let current: Draft | undefined
  for (const token of tokens) {
    const directive = directiveOf(token, text)
    const line = lineOf(token.start)
    if (directive?.name === 'check') {
      const name = directive.value
      if (!name) throw new ChecksFileError(`line ${line}: '-- check:' needs a name, e.g. '-- check: latest order'.`)
      if (name.length > MAX_NAME_LENGTH) {
        throw new ChecksFileError(`line ${line}: the check's name is longer than ${MAX_NAME_LENGTH} characters.`)
      }
      const twin = drafts.find(draft => draft.name === name)
      if (twin)
        throw new ChecksFileError(`line ${line}: check '${name}' is already defined on line ${twin.line}; give it another name.`)
      current = { name, line, body: [] }
      drafts.push(current)
      continue
    }
    if (directive) {
      const where = `line ${line}: '-- ${directive.name}:'`
      if (!current) throw new ChecksFileError(`${where} comes before any '-- check:' line; put it right after one.`)
      if (current.body.some(part => part.kind !== 'space' && part.kind !== 'line-comment')) {
        throw new ChecksFileError(`${where} comes after the query of check '${current.name}'; put it right after '-- check:'.`)
      }
      if (directive.name === 'expect') {
        if (current.expect !== undefined) throw new ChecksFileError(`${where} appears twice in check '${current.name}'.`)
        current.expect = directive.value === 'NULL' ? null : directive.value
      } else {
        if (current.timeout !== undefined) throw new ChecksFileError(`${where} appears twice in check '${current.name}'.`)
        const seconds = Number(directive.value)
        if (!directive.value || !Number.isFinite(seconds) || seconds <= 0) {
          throw new ChecksFileError(`${where} is '${directive.value}': use a number of seconds above 0.`)
        }
        current.timeout = seconds
      }
      continue
    }
    if (!current) {
      if (token.kind === 'space' || token.kind === 'line-comment' || token.kind === 'block-comment') continue
      throw new ChecksFileError(
        `line ${line}: SQL before the first '-- check: <name>' line; name each query with a '-- check:' line above it.`
      )
    }
    current.body.push(token)
  }
  if (drafts.length === 0) {
    throw new ChecksFileError(`no checks found: start each query with a '-- check: <name>' line.`)
  }
  return drafts.map(draft => toDefinition(dialect, draft.name, draft.line, draft.body, draft.expect, draft.timeout))
}

function toDefinition(
  dialect: CheckDialect,
  name: string,
  line: number,
  body: Token[],
  expect: string | null | undefined,
  timeout: number | undefined
): CheckDefinition {
  // Whatever follows the last semicolon is comments (the next check's preamble, say), never SQL.
  const code = body.filter(token => !['space', 'line-comment', 'block-comment'].includes(token.kind))
  const last = code[code.length - 1]
  const cut = last?.kind === 'symbol' && last.text === ';' ? body.indexOf(last) : body.length
  const sql = body
    .slice(0, cut)
    .map(token => token.text)
    .join('')
    .trim()
  const where = `check '${name}' (line ${line})`
  if (!code.some(token => !(token.kind === 'symbol' && token.text === ';'))) {
    throw new ChecksFileError(`${where} has no query: write one SELECT below its '-- check:' line.`)
  }
  const shape = dialect.shape(sql)
  if (shape.statements !== 1) {
    throw new ChecksFileError(
      `${where} holds ${shape.statements} statements: a check is one query (a SELECT, VALUES, TABLE or WITH ... SELECT); split it into checks of their own.`
    )
  }
  const definition: CheckDefinition = {
    name,
    sql,
    ordered: shape.topLevelOrderBy,
    timeoutSeconds: timeout ?? DEFAULT_CHECK_TIMEOUT_SECONDS,
    line
  }
  if (expect !== undefined) definition.expect = expect
  return definition
}
