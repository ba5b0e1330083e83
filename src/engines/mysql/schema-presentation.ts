/**
 * How MySQL (5.7, 8.0, 8.4) and MariaDB (10.6 to 11) present the same schema in
 * information_schema, and the canonical form the schema fingerprint compares. Pure functions over
 * the values one server returns; schema-queries.ts applies them to its rows.
 *
 * Two levels:
 * - canonical (always applied, on every server): two spellings that mean exactly the same thing
 *   become one (`int(11)` and `int`, `utf8` and `utf8mb3`, MariaDB's quoted `'abc'` default and
 *   MySQL's `abc`, `current_timestamp()` and `CURRENT_TIMESTAMP`, MariaDB's JSON alias...). A real
 *   difference between two servers of one flavour and version stays one.
 * - portable (only when the two sides are servers of different presentations, see
 *   `presentationOf`): what one server cannot show and the other can (an integer's display width
 *   on MySQL 8.0.19+, a view's ALGORITHM on MySQL) is left out, and expressions the servers
 *   reprint in their own way (outer parentheses, letter case, charset introducers, spaces) are
 *   compared in one form. What still differs then is reported, never passed.
 *
 * Sources are cited where each rule is; the rows each server returns are in
 * test/unit/engines/mysql/schema-presentation.test.ts.
 */

import { versionNumber } from './sanitize-rules.js'

export type Flavour = 'mysql' | 'mariadb'

/** What decides how a server presents a schema: its flavour and the release traits below. */
export interface Presentation {
  flavour: Flavour
  /** `VERSION()` as the server says it, e.g. `8.0.36`, `10.11.8-MariaDB-0+deb12u1`. */
  version: string
  /**
   * Whether COLUMN_TYPE shows integer display widths: MySQL 8.0.19 stopped showing them (but for
   * TINYINT(1) and ZEROFILL columns; MySQL 8.0 Reference Manual, "Changes in MySQL 8.0.19":
   * "Display width specification for integer data types was deprecated in MySQL 8.0.17, and now
   * statements that include data type definitions in their output no longer show the display
   * width"); MySQL 5.7 and every MariaDB show them.
   */
  showsIntegerWidths: boolean
  /** A short key: two sides of the same key present everything the same way. */
  key: string
}

/** The presentation of a server from its flavour and `VERSION()`. */
export function presentationOf(flavour: Flavour, version: string): Presentation {
  const showsIntegerWidths = flavour === 'mariadb' || versionNumber(version) < 80019
  return { flavour, version, showsIntegerWidths, key: `${flavour}${showsIntegerWidths ? '' : ' without display widths'}` }
}

/**
 * `utf8` (MySQL 5.7, MySQL 8.0 before 8.0.30, MariaDB before 10.6) and `utf8mb3` (MySQL
 * 8.0.30+, MariaDB 10.6+ with old_mode UTF8_IS_UTF8MB3, its default) are one character set, and
 * `utf8_general_ci` is `utf8mb3_general_ci`. Sources: MySQL 8.0 Reference Manual 10.9.2 ("utf8mb3
 * ... reported as utf8mb3 as of 8.0.30"); MariaDB KB "utf8mb3" / old_mode UTF8_IS_UTF8MB3 (10.6.1).
 */
export function canonicalCharset(name: string | null): string | null {
  return name === null ? null : name.replace(/\butf8(?=_|\b)(?!mb)/gi, 'utf8mb3')
}

/** The integer types' default display widths, signed and unsigned (MySQL 5.7 and MariaDB show them). */
const DEFAULT_WIDTHS: Record<string, [signed: number, unsigned: number]> = {
  tinyint: [4, 3],
  smallint: [6, 5],
  mediumint: [9, 8],
  int: [11, 10],
  integer: [11, 10],
  bigint: [20, 20]
}

/**
 * A COLUMN_TYPE (or a routine's DTD_IDENTIFIER) without what only says the default: an integer's
 * default display width (`int(11)`, `int(10) unsigned`, `bigint(20)`) and YEAR's `(4)`, which MySQL
 * 8.0.19+ never shows and MariaDB always does. A ZEROFILL column keeps its width: it changes how
 * the value is shown, and every server shows it.
 */
export function canonicalType(type: string | null): string | null {
  if (type === null) return null
  const text = type.trim()
  if (/\bzerofill\b/i.test(text)) return text
  if (/^year\(4\)$/i.test(text)) return 'year'
  const match = /^(tinyint|smallint|mediumint|int|integer|bigint)\((\d+)\)(.*)$/i.exec(text)
  if (!match) return text
  const [, base, width, rest] = match
  const widths = DEFAULT_WIDTHS[base.toLowerCase()]
  const unsigned = /\bunsigned\b/i.test(rest)
  return Number(width) === widths[unsigned ? 1 : 0] ? `${base}${rest}` : text
}

/**
 * The type where one side cannot show display widths (MySQL 8.0.19+): every integer width goes
 * but TINYINT(1)'s (which MySQL 8 keeps showing: it is how BOOLEAN is written) and ZEROFILL's.
 */
export function portableType(type: string): string {
  if (/\bzerofill\b/i.test(type)) return type
  return type.replace(/^(tinyint|smallint|mediumint|int|integer|bigint)\((\d+)\)/i, (whole, base: string, width: string) =>
    base.toLowerCase() === 'tinyint' && width === '1' ? whole : base
  )
}

/** A column's default, canonical: a literal value, an expression, or none. */
export interface ColumnDefault {
  /** The literal's value as text (`abc`, `0.00`, `b'101'`, `2024-01-01 00:00:00`). */
  literal?: string
  /** An expression (`current_timestamp(6)`, `uuid()`), as the server printed it. */
  expression?: string
}

/** The literal of a quoted default as MariaDB writes it: append_unescaped (sql/sql_show.cc). */
function unescapeMariadb(quoted: string): string {
  const escapes: Record<string, string> = { '0': '\0', n: '\n', r: '\r', Z: '\x1a', '\\': '\\', "'": "'" }
  return quoted
    .slice(1, -1)
    .replace(/\\(.)|''/gs, (_pair, escaped?: string) => (escaped === undefined ? "'" : (escapes[escaped] ?? escaped)))
}

const TEMPORAL = /^(timestamp|datetime)\b/i
const NOW = /^(?:current_timestamp|now|localtime|localtimestamp)(?:\((\d*)\))?$/i

/**
 * CURRENT_TIMESTAMP in one spelling: MariaDB writes `current_timestamp()` / `current_timestamp(6)`
 * (sql_show.cc print_on_update_clause and Item_func_now::print), MySQL `CURRENT_TIMESTAMP` /
 * `CURRENT_TIMESTAMP(6)`; NOW(), LOCALTIME and LOCALTIMESTAMP are its synonyms.
 */
export function canonicalNow(text: string): string | undefined {
  const match = NOW.exec(text.trim())
  if (!match) return undefined
  return match[1] && match[1] !== '0' ? `current_timestamp(${match[1]})` : 'current_timestamp()'
}

/**
 * COLUMN_DEFAULT (with EXTRA and the column's type and nullability) in one form.
 * - MariaDB 10.2.7+ (KB "Information Schema COLUMNS Table"): SQL NULL is no default, the text
 *   `NULL` a default of NULL; string, temporal, ENUM and SET literals are quoted (`'abc'`, with
 *   append_unescaped's escapes), numbers and BIT (`b'101'`) are not; anything else is an
 *   expression (`current_timestamp()`, `uuid()`, `(1 + 1)`): sql_show.cc get_field_default_value.
 * - MySQL: the literal's bare value, SQL NULL for no default and for a default of NULL alike;
 *   an expression default is marked DEFAULT_GENERATED in EXTRA (8.0.13+); 5.7 has only
 *   CURRENT_TIMESTAMP, unmarked, on TIMESTAMP and DATETIME columns.
 * A nullable column's default of NULL and no default are the same (an insert without the column
 * stores NULL either way), so both are `undefined` here; nullability is compared on its own.
 */
export function canonicalDefault(
  flavour: Flavour,
  value: string | null,
  extra: string | null,
  type: string | null
): ColumnDefault | undefined {
  if (value === null) return undefined
  if (flavour === 'mariadb') {
    if (value === 'NULL') return undefined
    if (/^'.*'$/s.test(value)) return { literal: unescapeMariadb(value) }
    if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value) || /^b'[01]*'$/.test(value)) return { literal: value }
    return { expression: canonicalNow(value) ?? value }
  }
  const generated = /\bDEFAULT_GENERATED\b/i.test(extra ?? '')
  const now = canonicalNow(value)
  if (generated || (now && TEMPORAL.test(type ?? ''))) {
    // DEFAULT ('abc'), MySQL's only way to give a TEXT, BLOB or JSON column a default (8.0.13+),
    // is the literal 'abc': I_S shows `_utf8mb4\'abc\'`, and MariaDB, which takes literal
    // defaults there, shows `'abc'`.
    const literal = now ? undefined : stringExpression(value)
    return literal === undefined ? { expression: now ?? value } : { literal }
  }
  return { literal: value }
}

/** The value of an expression that is one string literal (`_utf8mb4\'a\'`, `('a')`), else undefined. */
function stringExpression(text: string): string | undefined {
  let literal = text.trim()
  if (literal.startsWith('(') && literal.endsWith(')')) literal = literal.slice(1, -1).trim()
  literal = literal.replace(/^_[a-z0-9]+/i, '')
  if (literal.startsWith("\\'")) literal = literal.replace(/\\'/g, "'")
  const match = /^'((?:[^'\\]|\\.|'')*)'$/s.exec(literal)
  if (!match) return undefined
  const escapes: Record<string, string> = { '0': '\0', n: '\n', r: '\r', t: '\t', Z: '\x1a' }
  return match[1].replace(/\\(.)|''/gs, (_pair, escaped?: string) =>
    escaped === undefined ? "'" : (escapes[escaped] ?? escaped)
  )
}

/**
 * EXTRA in one form: lower case; MySQL 8's DEFAULT_GENERATED left out (canonicalDefault has
 * read it: the default is an expression); `on update CURRENT_TIMESTAMP(n)` in canonicalNow's
 * spelling. Both flavours write `auto_increment`, `VIRTUAL GENERATED`, `STORED GENERATED` and
 * `INVISIBLE` (MySQL 8.0.23+, MariaDB 10.3+).
 */
export function canonicalExtra(extra: string | null): string | null {
  if (!extra) return null
  const text = extra
    .replace(/\bDEFAULT_GENERATED\b/gi, '')
    .replace(/\bon update ([a-z_]+(?:\(\d*\))?)/gi, (_whole, now: string) => `on update ${canonicalNow(now) ?? now}`)
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()
  return text === '' ? null : text
}

/** sql_mode's flags sorted: MySQL and MariaDB list the same set in their own order. */
export function canonicalSqlMode(mode: string | null): string | null {
  if (mode === null) return null
  return mode
    .split(',')
    .map(flag => flag.trim().toUpperCase())
    .filter(flag => flag !== '')
    .sort()
    .join(',')
}

/**
 * Whether a MariaDB CHECK is the one its JSON alias adds: MariaDB has no JSON type, `JSON` is
 * LONGTEXT with a column CHECK (json_valid(`c`)) named after the column (MariaDB KB "JSON Data
 * Type": "JSON is an alias for LONGTEXT COLLATE utf8mb4_bin ... a CHECK constraint is
 * automatically added", 10.4.3+).
 */
export function isJsonAliasCheck(column: string, constraintName: string, clause: string | null): boolean {
  return constraintName === column && clause !== null && clause.trim() === `json_valid(${quoteName(column)})`
}

function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``
}

/**
 * An expression (a view's definition, a CHECK clause, a generation or default expression, a
 * partitioning expression) in one form for two servers that print them each their own way:
 * - charset introducers go (`_utf8mb4'x'`: MySQL writes them, MariaDB seldom), and MySQL's
 *   backslash-escaped quotes in CHECK_CLAUSE and GENERATION_EXPRESSION (`_utf8mb4\'x\'`);
 * - letter case outside literals and `names` (keywords and function names are case-blind);
 * - spaces outside literals and names are collapsed, and dropped beside punctuation;
 * - parentheses that group nothing the operators' precedence would not group anyway: MySQL
 *   prints every operation in parentheses (`where ((a > 1) and (b < 2))`), MariaDB only those
 *   precedence needs (`where a > 1 and b < 2`); Item_func::print in both servers' sql/item_func.cc
 *   and the precedence table of the MySQL 8.0 Reference Manual 12.4.1 ("Operator Precedence"),
 *   which MariaDB shares (KB "Operator Precedence"). A parenthesis that changes the grouping is
 *   kept, and so is any this function is not sure of (a call's, a list's, a subquery's).
 * Literals and quoted names are kept as they are.
 */
export function portableExpression(text: string): string {
  const tokens = withoutGroupingParentheses(synonymsAsOne(tokenize(text.replace(/\\'/g, "'"))))
  let result = ''
  for (const token of tokens) {
    if (result !== '' && isWordish(result[result.length - 1]) && isWordish(token[0])) result += ' '
    result += token
  }
  return result
}

/** The tokens of an expression, spaces left out, words in lower case, charset introducers dropped. */
function tokenize(source: string): string[] {
  const tokens: string[] = []
  let i = 0
  while (i < source.length) {
    const c = source[i]
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1
      while (j < source.length) {
        if (source[j] === '\\' && c !== '`') j += 2
        else if (source[j] === c && source[j + 1] === c) j += 2
        else if (source[j] === c) break
        else j++
      }
      let literal = source.slice(i, j + 1)
      if (c === '"') literal = `'${literal.slice(1, -1).replace(/""/g, '"').replace(/'/g, "''")}'`
      // A charset introducer before a string literal: `_utf8mb4'x'`.
      if (c !== '`' && /^_[a-z0-9]+$/.test(tokens[tokens.length - 1] ?? '')) tokens.pop()
      tokens.push(literal)
      i = j + 1
    } else if (/\s/.test(c)) {
      i++
    } else if (/[A-Za-z0-9_$.]/.test(c)) {
      let j = i
      while (j < source.length && /[A-Za-z0-9_$.]/.test(source[j])) j++
      tokens.push(source.slice(i, j).toLowerCase())
      i = j
    } else {
      const operator = ['<=>', '<>', '!=', '>=', '<=', '<<', '>>', '||', '&&', ':=', '->>', '->'].find(op =>
        source.startsWith(op, i)
      )
      tokens.push(operator ?? c)
      i += operator?.length ?? 1
    }
  }
  return tokens
}

/**
 * Spellings of one function in one: NOW(), LOCALTIME and LOCALTIMESTAMP (MySQL prints `now()`)
 * are CURRENT_TIMESTAMP (MariaDB prints `current_timestamp()`), with or without parentheses;
 * COUNT(0) is COUNT(*) (MySQL writes COUNT(*) as count(0) in a view's definition: 0 is never NULL).
 */
function synonymsAsOne(tokens: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]
    if (['now', 'localtime', 'localtimestamp', 'current_timestamp'].includes(token) && tokens[i - 1] !== '.') {
      out.push('current_timestamp')
      if (tokens[i + 1] !== '(') out.push('(', ')')
    } else if (token === 'count' && tokens[i + 1] === '(' && tokens[i + 2] === '0' && tokens[i + 3] === ')') {
      out.push('count', '(', '*', ')')
      i += 3
    } else out.push(token)
  }
  return out
}

/**
 * Binary operators by precedence, higher binds tighter (MySQL 8.0 Reference Manual 12.4.1), but
 * for the predicates: IN, LIKE, REGEXP, MEMBER OF, SOUNDS LIKE bind tighter than BETWEEN, which
 * binds tighter than the comparisons and IS, as both servers parse them (MariaDB sql/item.h
 * `enum precedence`: CMP < BETWEEN < IN; MySQL sql_yacc.yy: `predicate` under `bool_pri`) and
 * as MariaDB prints them: `a = (b LIKE c)` is printed `a = b like c`, which is not `(a = b) like c`.
 */
const BINARY: Record<string, number> = {
  ':=': 1,
  '||': 2,
  or: 2,
  xor: 3,
  '&&': 4,
  and: 4,
  '=': 7,
  '<=>': 7,
  '>=': 7,
  '>': 7,
  '<=': 7,
  '<': 7,
  '<>': 7,
  '!=': 7,
  is: 7,
  between: 7.3,
  like: 7.6,
  regexp: 7.6,
  rlike: 7.6,
  in: 7.6,
  member: 7.6,
  sounds: 7.6,
  '|': 8,
  '&': 9,
  '<<': 10,
  '>>': 10,
  '-': 11,
  '+': 11,
  '*': 12,
  '/': 12,
  div: 12,
  '%': 12,
  mod: 12,
  '^': 13,
  collate: 16
}
/** Prefix operators by precedence. */
const UNARY: Record<string, number> = { not: 5, '-': 14, '+': 14, '~': 14, '!': 15, binary: 16 }
/** Words after which a parenthesis starts a clause's own expression, as after `(` or `,`. */
const CLAUSE_WORDS = new Set([
  'select',
  'where',
  'on',
  'having',
  'when',
  'then',
  'else',
  'return',
  'set',
  'as',
  'by',
  'from',
  'distinct',
  'case',
  'limit',
  'escape',
  'join'
])

/** The precedence of the token at `index` as an operator in its place; undefined when it is none. */
function operatorAt(tokens: string[], index: number): number | undefined {
  const token = tokens[index]
  const previous = tokens[index - 1]
  // The second word of a two-word operator (`NOT LIKE`, `NOT IN`, `SOUNDS LIKE`, `MEMBER OF`) is
  // that operator, not a prefix: what follows it is its right operand.
  if (previous === 'not' && predicateAfterNot(token) !== undefined) return BINARY[token]
  if ((previous === 'sounds' && token === 'like') || (previous === 'member' && token === 'of')) return BINARY[previous]
  const prefix = previous === undefined || previous === '(' || previous === ',' || isOperator(tokens, index - 1)
  if (prefix) return UNARY[token]
  // `a NOT LIKE b`, `a NOT IN (...)`, `a NOT BETWEEN ...`: the predicate's, not NOT's.
  if (token === 'not') return predicateAfterNot(tokens[index + 1]) ?? UNARY.not
  // BETWEEN's own AND: the first AND after a BETWEEN (its operands hold no bare AND).
  if (token === 'and' && isBetweenAnd(tokens, index)) return BINARY.between
  return BINARY[token]
}

/** The precedence of a predicate (LIKE, IN, BETWEEN, REGEXP) after a binary NOT; undefined for another word. */
function predicateAfterNot(next: string | undefined): number | undefined {
  return next !== undefined && ['like', 'in', 'between', 'regexp', 'rlike'].includes(next) ? BINARY[next] : undefined
}

/** Whether the AND at `index` is a BETWEEN's: the nearest BETWEEN or AND before it, at its depth, is a BETWEEN. */
function isBetweenAnd(tokens: string[], index: number): boolean {
  let depth = 0
  for (let k = index - 1; k >= 0; k--) {
    const token = tokens[k]
    if (token === ')') depth++
    else if (token === '(') {
      if (depth === 0) return false
      depth--
    } else if (depth === 0 && (token === 'between' || token === 'and' || token === ',')) return token === 'between'
  }
  return false
}

function isOperator(tokens: string[], index: number): boolean {
  const token = tokens[index]
  if (token === undefined) return false
  if (CLAUSE_WORDS.has(token) && !(token in BINARY) && !(token in UNARY)) return true
  return token in BINARY || token in UNARY
}

/** The index of the parenthesis that closes the one at `open`. */
function closing(tokens: string[], open: number): number {
  let depth = 0
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i] === '(') depth++
    else if (tokens[i] === ')' && --depth === 0) return i
  }
  return tokens.length
}

/** The tokens with every parenthesis that groups only what precedence groups anyway taken out. */
function withoutGroupingParentheses(tokens: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== '(') {
      out.push(tokens[i])
      continue
    }
    const end = closing(tokens, i)
    const inner = withoutGroupingParentheses(tokens.slice(i + 1, end))
    if (isGrouping(out, inner, tokens[end + 1], tokens.slice(end + 1))) out.push(...inner)
    else out.push('(', ...inner, ')')
    i = end
  }
  return out
}

/**
 * Whether `( inner )`, after `before` and followed by `after`, only groups what the operators'
 * precedence groups anyway: not a call's or a list's parenthesis, nor a subquery's, and its
 * loosest operator binds tighter than the one before it and at least as tight as the one after.
 */
function isGrouping(before: string[], inner: string[], after: string | undefined, rest: string[]): boolean {
  const previous = before[before.length - 1]
  // A call (`f(`), a list (`in (`), a subquery, a row: never grouping.
  if (previous !== undefined && previous !== '(' && previous !== ',' && !isOperator(before, before.length - 1)) return false
  if (previous === 'in' || inner[0] === 'select' || inner[0] === 'with' || inner.length === 0) return false
  let depth = 0
  let loosest = Infinity
  for (let k = 0; k < inner.length; k++) {
    if (inner[k] === '(') depth++
    else if (inner[k] === ')') depth--
    else if (depth === 0) {
      if (inner[k] === ',') return false
      if (inner[k] === 'case' || inner[k] === 'end') continue
      const precedence = operatorAt(inner, k)
      if (precedence !== undefined) loosest = Math.min(loosest, precedence)
    }
  }
  const left =
    previous === undefined || previous === '(' || previous === ',' ? -Infinity : operatorPrecedence(before, before.length - 1)
  const next =
    rest[0] === 'not'
      ? predicateAfterNot(rest[1])
      : rest[0] === 'and' && isBetweenAnd([...before, 'and'], before.length)
        ? BINARY.between
        : BINARY[rest[0]]
  const right = after === undefined || after === ')' || after === ',' ? -Infinity : (next ?? -Infinity)
  return loosest > left && loosest >= right
}

/** The precedence of the operator at the end of what comes before a parenthesis (-Infinity for a clause word). */
function operatorPrecedence(tokens: string[], index: number): number {
  const precedence = operatorAt(tokens, index)
  return precedence ?? -Infinity
}

function isWordish(c: string): boolean {
  return /^[A-Za-z0-9_$'"`]/.test(c)
}
