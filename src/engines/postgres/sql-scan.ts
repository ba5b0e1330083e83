/**
 * A lexer for PostgreSQL's SQL, just enough to know where statements, comments and parentheses
 * are: it reads strings (standard, E'' with backslash escapes, U&''), quoted identifiers,
 * dollar quotes and nested block comments the way the server's own scanner (scan.l) does, so
 * that a `;`, `ORDER BY` or `-- check:` inside any of them is never taken for the real thing.
 * Pure.
 */

export type TokenKind = 'space' | 'line-comment' | 'block-comment' | 'string' | 'quoted-ident' | 'word' | 'symbol'

export interface Token {
  kind: TokenKind
  text: string
  /** Offset of the token's first character in the scanned text. */
  start: number
}

/** Thrown when the text ends inside a string, quoted identifier, dollar quote or block comment. */
export class UnterminatedError extends Error {
  constructor(
    readonly what: string,
    readonly start: number
  ) {
    super(`unterminated ${what}`)
  }
}

// scan.l: ident_start [A-Za-z\200-\377_], ident_cont adds digits and $. Bytes above 127 are
// letters to PostgreSQL; in a JavaScript string every non-ASCII code unit is one of them.
const IDENT_START = /[A-Za-z_\u0080-\uffff]/
const IDENT_CONT = /[A-Za-z_0-9$\u0080-\uffff]/
// A dollar quote's tag: $$ or $tag$, where the tag looks like an identifier without `$`.
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/

/** Splits `sql` into tokens; their texts concatenated give `sql` back. */
export function scanSql(sql: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  const push = (kind: TokenKind, end: number) => {
    tokens.push({ kind, text: sql.slice(i, end), start: i })
    i = end
  }
  while (i < sql.length) {
    const c = sql[i]
    const next = sql[i + 1] ?? ''
    if (/\s/.test(c)) {
      let end = i + 1
      while (end < sql.length && /\s/.test(sql[end])) end++
      push('space', end)
    } else if (c === '-' && next === '-') {
      const newline = sql.indexOf('\n', i)
      push('line-comment', newline < 0 ? sql.length : newline)
    } else if (c === '/' && next === '*') {
      push('block-comment', blockCommentEnd(sql, i))
    } else if (c === "'") {
      push('string', quotedEnd(sql, i, "'", false))
    } else if ((c === 'e' || c === 'E') && next === "'") {
      push('string', quotedEnd(sql, i + 1, "'", true))
    } else if ((c === 'u' || c === 'U') && next === '&' && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
      const quote = sql[i + 2]
      push(quote === "'" ? 'string' : 'quoted-ident', quotedEnd(sql, i + 2, quote, false))
    } else if (/[bBxXnN]/.test(c) && next === "'") {
      push('string', quotedEnd(sql, i + 1, "'", false))
    } else if (c === '"') {
      push('quoted-ident', quotedEnd(sql, i, '"', false))
    } else if (c === '$' && DOLLAR_TAG.test(sql.slice(i, i + 64)) && !/\d/.test(next)) {
      const tag = DOLLAR_TAG.exec(sql.slice(i))![0]
      const close = sql.indexOf(tag, i + tag.length)
      if (close < 0) throw new UnterminatedError('dollar-quoted string', i)
      push('string', close + tag.length)
    } else if (IDENT_START.test(c)) {
      let end = i + 1
      while (end < sql.length && IDENT_CONT.test(sql[end])) end++
      push('word', end)
    } else if (/\d/.test(c)) {
      // A number, or a parameter's digits after `$`: either way nothing this lexer looks at.
      let end = i + 1
      while (end < sql.length && /[0-9A-Za-z_.]/.test(sql[end])) end++
      push('word', end)
    } else {
      push('symbol', i + 1)
    }
  }
  return tokens
}

/** Block comments nest in PostgreSQL: `/* a /* b *\/ still comment *\/`. */
function blockCommentEnd(sql: string, start: number): number {
  let depth = 0
  let i = start
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++
      i += 2
    } else if (sql.startsWith('*/', i)) {
      depth--
      i += 2
      if (depth === 0) return i
    } else i++
  }
  throw new UnterminatedError('block comment', start)
}

/** The end of a quoted string or identifier opening at `start`; a doubled quote is a quote. */
function quotedEnd(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1
  while (i < sql.length) {
    const c = sql[i]
    if (backslashEscapes && c === '\\') {
      i += 2
    } else if (c === quote) {
      if (sql[i + 1] === quote) i += 2
      else return i + 1
    } else i++
  }
  throw new UnterminatedError(quote === '"' ? 'quoted identifier' : 'string', start)
}

/** What a single query's text holds, as far as checks need to know. */
export interface QueryShape {
  /** How many statements: text separated by `;` outside strings and comments (an empty one is not counted). */
  statements: number
  /** An ORDER BY outside all parentheses: it orders the query's own result (set operations included). */
  topLevelOrderBy: boolean
}

/**
 * Reads the shape of one query. ORDER BY inside parentheses belongs to a subquery, a window, an
 * aggregate or WITHIN GROUP and orders nothing the query returns; outside them it can only be the
 * query's own ORDER BY, which then applies to the whole result, set operations included.
 */
export function queryShape(sql: string): QueryShape {
  let depth = 0
  let statements = 0
  let statementHasCode = false
  let topLevelOrderBy = false
  let previousWord: string | undefined
  for (const token of scanSql(sql)) {
    if (token.kind === 'space' || token.kind === 'line-comment' || token.kind === 'block-comment') continue
    if (token.kind === 'symbol' && token.text === ';') {
      if (statementHasCode) statements++
      statementHasCode = false
      previousWord = undefined
      continue
    }
    statementHasCode = true
    if (token.kind === 'symbol' && (token.text === '(' || token.text === '[')) depth++
    if (token.kind === 'symbol' && (token.text === ')' || token.text === ']')) depth = Math.max(0, depth - 1)
    const word = token.kind === 'word' ? token.text.toLowerCase() : undefined
    if (depth === 0 && previousWord === 'order' && word === 'by') topLevelOrderBy = true
    previousWord = word
  }
  if (statementHasCode) statements++
  return { statements, topLevelOrderBy }
}
