import type { DrillRewriter } from '../types.js'
import { dumpLexer } from './dump-lexer.js'

/**
 * The chaos drill's dump rewriters for MySQL/MariaDB dumps: each streams the lines of a
 * mysqldump/mariadb-dump and corrupts one table's data or one schema object, so that the
 * verifier, not the restore, has to notice.
 */

/** A drill operator's rewriter of a copy of the dump, a line at a time: the seam's (engines/types.ts DrillRewriter). */
export type DumpRewriter = DrillRewriter

// ---------------------------------------------------------------------------------------------
// The lines of a dump: which are a table's INSERTs, which its CREATE TABLE.

/** A table of the dumped database, by its name (the dump has no database name: one database per dump). */
export interface DumpTable {
  name: string
}

/** `name` as the dump writes it: backquoted, a backquote doubled. */
export function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``
}

/**
 * The head of an INSERT statement mysqldump writes: `INSERT INTO `t` VALUES` or, for a table with
 * invisible or generated columns, `INSERT INTO `t` (`a`, `b`) VALUES`, followed by the tuples on
 * the same line (MySQL) or on the next ones (MariaDB 10.11+, a tuple a line). undefined for
 * another line.
 */
export function parseInsertHead(line: string): { table: string; columns?: string[]; head: string; rest: string } | undefined {
  const match = /^INSERT INTO (`(?:[^`]|``)*`)(?: \(((?:`(?:[^`]|``)*`(?:, ?)?)+)\))? VALUES ?/.exec(line)
  if (!match) return undefined
  const unquote = (quoted: string) => quoted.slice(1, -1).replace(/``/g, '`')
  const columns = match[2] === undefined ? undefined : [...match[2].matchAll(/`(?:[^`]|``)*`/g)].map(found => unquote(found[0]))
  return { table: unquote(match[1]), ...(columns ? { columns } : {}), head: match[0], rest: line.slice(match[0].length) }
}

/** One tuple of an extended INSERT: its text, and each value's text (NULL, a number, 0x..., '...'). */
export interface Tuple {
  text: string
  values: string[]
}

/**
 * Splits what follows an INSERT head on one line into its tuples and what separates them:
 * mysqldump writes every string on one line (a line break in a value is `\n`), so a line holds
 * whole tuples. Strings are '...' with backslash escapes (and '' for a quote); a value is
 * otherwise NULL, a number, a hex or bit literal, or a charset-introduced string. Returns
 * undefined for text it cannot read that way, which the rewriters then leave alone.
 */
export function parseTuples(text: string): { tuples: Tuple[]; separators: string[]; end: string } | undefined {
  const tuples: Tuple[] = []
  const separators: string[] = []
  let at = 0
  for (;;) {
    const gap = /^[ \t\r]*/.exec(text.slice(at))![0]
    if (text[at + gap.length] !== '(') return undefined
    at += gap.length
    const start = at
    at++
    const values: string[] = []
    let value = ''
    for (;;) {
      if (at >= text.length) return undefined
      const char = text[at]
      if (char === "'") {
        let end = at + 1
        for (; end < text.length; end++) {
          if (text[end] === '\\') end++
          else if (text[end] === "'") {
            if (text[end + 1] === "'") end++
            else break
          }
        }
        if (end >= text.length) return undefined
        value += text.slice(at, end + 1)
        at = end + 1
      } else if (char === ',' || char === ')') {
        values.push(value)
        value = ''
        at++
        if (char === ')') break
      } else {
        value += char
        at++
      }
    }
    tuples.push({ text: text.slice(start, at), values })
    const separator = /^[ \t\r]*,[ \t\r]*/.exec(text.slice(at))
    if (!separator) break
    // A separator at the end of the line: the statement goes on with the next line's tuples.
    if (at + separator[0].length === text.length) return { tuples, separators, end: separator[0] }
    separators.push(separator[0])
    at += separator[0].length
  }
  const end = text.slice(at)
  return /^[ \t\r]*;[ \t\r]*$/.test(end) ? { tuples, separators, end } : undefined
}

/** Joins tuples back with the separators they had (the first's after the first tuple, and so on). */
function joinTuples(tuples: string[], separators: string[]): string {
  return tuples.map((tuple, i) => (i === 0 ? tuple : (separators[i - 1] ?? ',') + tuple)).join('')
}

/** The column names of a CREATE TABLE as the dump writes them, one a line: for INSERTs without a column list. */
function columnOf(line: string): string | undefined {
  const match = /^ {2}(`(?:[^`]|``)*`) /.exec(line)
  return match ? match[1].slice(1, -1).replace(/``/g, '`') : undefined
}

/**
 * Follows a dump's statements with the client's lexer (dump-lexer.ts) and tells each line's
 * place: the INSERT of which table a line belongs to, and the CREATE TABLE of which table. Only
 * lines that start between statements open either: a row's or a body's text never does.
 */
function dumpFollower() {
  const lex = dumpLexer('mariadb')
  let insertOf: string | undefined
  let createOf: string | undefined
  const columns = new Map<string, string[]>()
  return (
    line: string
  ): { insert?: string; insertHead?: ReturnType<typeof parseInsertHead>; create?: string; columns: Map<string, string[]> } => {
    const facts = lex(line)
    const top = facts.startsStatement
    const head = top ? parseInsertHead(line) : undefined
    insertOf = head ? head.table : top ? undefined : insertOf
    const create = top ? /^CREATE TABLE (`(?:[^`]|``)*`) \($/.exec(line) : undefined
    if (create) {
      createOf = create[1].slice(1, -1).replace(/``/g, '`')
      columns.set(createOf, [])
    } else if (top) {
      createOf = undefined
    } else if (createOf !== undefined && facts.before.mode === 'm') {
      const column = columnOf(line)
      if (column !== undefined) columns.get(createOf)!.push(column)
    }
    // A line that starts between statements belongs to the statement it opens, or to none.
    const place = {
      insert: head ? head.table : top ? undefined : insertOf,
      insertHead: head,
      create: create ? createOf : top ? undefined : createOf,
      columns
    }
    if (facts.after?.mode === 'T') {
      insertOf = undefined
      createOf = undefined
    }
    return place
  }
}

// ---------------------------------------------------------------------------------------------
// Row data operators

/** How one operator edits a table's first tuples; `tuple` returns the tuples to write in its place. */
interface TupleEdit {
  /** The tuples to write for this one, or undefined to leave it and look at the next. */
  tuple(tuple: Tuple, columns: string[] | undefined): string[] | undefined
  evidence(): string | undefined
}

/**
 * Runs `edit` over the target table's tuples until it has edited one, leaving every other line
 * alone. A statement whose only tuple is dropped is dropped whole (an INSERT without tuples does
 * not parse): MariaDB's head line is held until its first tuple's line says so.
 */
function tupleRewriter(table: DumpTable, edit: TupleEdit): DumpRewriter {
  const follow = dumpFollower()
  let done = false
  let heldHead: string | undefined
  let firstLineOfStatement = false
  return {
    push(line) {
      const place = follow(line)
      if (done || place.insert !== table.name) {
        const held = heldHead
        heldHead = undefined
        return held === undefined ? [line] : [held, line]
      }
      const head = place.insertHead
      const columns = head?.columns ?? place.columns.get(table.name)
      const prefix = head ? head.head : ''
      const rest = head ? head.rest : line
      if (head && rest === '') {
        // MariaDB: the head alone; its tuples follow, one a line.
        heldHead = line
        firstLineOfStatement = true
        return []
      }
      const parsed = parseTuples(rest)
      const held = heldHead
      heldHead = undefined
      const startsStatement = head !== undefined || firstLineOfStatement
      firstLineOfStatement = false
      if (!parsed) return held === undefined ? [line] : [held, line]
      const out: string[] = []
      let changed = false
      for (const tuple of parsed.tuples) {
        const replaced = changed ? undefined : edit.tuple(tuple, columns)
        if (replaced === undefined) out.push(tuple.text)
        else {
          changed = true
          out.push(...replaced)
        }
      }
      if (!changed) return held === undefined ? [line] : [held, line]
      done = true
      if (out.length === 0) {
        // The line's only tuple went. Its statement ends here (;): the statement goes, if this line began it;
        // it goes on (,): the line goes.
        if (parsed.end.includes(';') && !startsStatement) return held === undefined ? [';'] : [held, ';']
        if (parsed.end.includes(';')) return []
        return held === undefined ? [] : [held]
      }
      const text = prefix + joinTuples(out, parsed.separators) + parsed.end
      return held === undefined ? [text] : [held, text]
    },
    result() {
      const evidence = edit.evidence()
      return evidence === undefined ? undefined : { evidence }
    }
  }
}

/** "(id, name)=(1, 'Ann')": the values that tell a row apart, for the report. */
function rowEvidence(tuple: Tuple, columns: string[] | undefined, keyColumns: string[] | undefined): string {
  // A key names a row the way the report's row pins do; any other value is production's data,
  // which the log and report show only with show-values: a row without a key is named by place.
  const indexes = keyColumns && columns ? keyColumns.map(column => columns.indexOf(column)) : []
  if (indexes.length === 0 || indexes.some(i => i < 0)) return 'the first row'
  return `row (${indexes.map(i => columns![i]).join(', ')})=(${indexes.map(i => tuple.values[i]).join(', ')})`
}

/** Drops the table's first row. */
export function dropRowRewriter(table: DumpTable, keyColumns?: string[]): DumpRewriter {
  let evidence: string | undefined
  return tupleRewriter(table, {
    tuple(tuple, columns) {
      evidence = `${rowEvidence(tuple, columns, keyColumns)} of ${quoteName(table.name)} dropped`
      return []
    },
    evidence: () => evidence
  })
}

/** Writes the table's first row twice (for a table without a unique key, where the copy restores). */
export function duplicateRowRewriter(table: DumpTable): DumpRewriter {
  let evidence: string | undefined
  return tupleRewriter(table, {
    tuple(tuple, columns) {
      evidence = `${rowEvidence(tuple, columns, undefined)} of ${quoteName(table.name)} written twice`
      return [tuple.text, tuple.text]
    },
    evidence: () => evidence
  })
}

/**
 * Changes one character of `column` in the first row where it has one to change: a number's last
 * digit, a string's first letter or digit (so that a date, a JSON document or an enum stays of its
 * kind), a hex literal's last digit. NULL and empty values are passed over.
 */
export function mutateCellRewriter(table: DumpTable, column: string, keyColumns?: string[]): DumpRewriter {
  let evidence: string | undefined
  return tupleRewriter(table, {
    tuple(tuple, columns) {
      const index = columns?.indexOf(column) ?? -1
      if (index < 0) return undefined
      const before = tuple.values[index]
      const after = mutateValue(before)
      if (after === undefined) return undefined
      const values = [...tuple.values]
      values[index] = after
      evidence = `one character of ${quoteName(column)} changed in ${rowEvidence(tuple, columns, keyColumns)} of ${quoteName(table.name)}`
      return [`(${values.join(',')})`]
    },
    evidence: () => evidence
  })
}

/** One value with one character changed, or undefined when it has none to change (NULL, ''). */
export function mutateValue(value: string): string | undefined {
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) {
    const at = lastDigitIndex(value)
    return at < 0 ? undefined : value.slice(0, at) + nextDigit(value[at]) + value.slice(at + 1)
  }
  if (/^0x[0-9A-Fa-f]+$/.test(value)) {
    const last = value[value.length - 1]
    return value.slice(0, -1) + (last.toUpperCase() === 'F' ? '0' : (parseInt(last, 16) + 1).toString(16).toUpperCase())
  }
  const string = /^(_[a-z0-9]+ ?)?'(.*)'$/s.exec(value)
  if (string) {
    const body = string[2]
    for (let i = 0; i < body.length; i++) {
      if (body[i] === '\\') {
        i++
        continue
      }
      if (/[A-Za-z0-9]/.test(body[i])) {
        const replaced = /[0-9]/.test(body[i])
          ? nextDigit(body[i])
          : body[i] === 'z'
            ? 'a'
            : body[i] === 'Z'
              ? 'A'
              : String.fromCharCode(body.charCodeAt(i) + 1)
        return `${string[1] ?? ''}'${body.slice(0, i)}${replaced}${body.slice(i + 1)}'`
      }
    }
  }
  return undefined
}

function lastDigitIndex(value: string): number {
  const mantissa = value.replace(/[eE].*$/, '')
  for (let i = mantissa.length - 1; i >= 0; i--) if (/\d/.test(mantissa[i])) return i
  return -1
}

function nextDigit(digit: string): string {
  return String((Number(digit) + 1) % 10)
}

/** Drops every row of the table: its INSERT statements go whole. */
export function truncateRewriter(table: DumpTable): DumpRewriter {
  const follow = dumpFollower()
  let rows = 0
  let statements = 0
  return {
    push(line) {
      const place = follow(line)
      if (place.insert !== table.name) return [line]
      if (place.insertHead) statements++
      const parsed = parseTuples(place.insertHead ? place.insertHead.rest : line)
      rows += parsed?.tuples.length ?? 0
      return []
    },
    result: () =>
      statements === 0
        ? undefined
        : { evidence: `${rows} rows of ${quoteName(table.name)} dropped (${statements} INSERT statements)` }
  }
}

// ---------------------------------------------------------------------------------------------
// Schema operators: a line of the table's CREATE TABLE.

/**
 * Drops one line of the table's CREATE TABLE (an index or a constraint, one a line as SHOW
 * CREATE TABLE writes them), taking the comma off the line before when it was the last.
 */
function createTableLineRewriter(table: DumpTable, matches: (line: string) => boolean, what: string): DumpRewriter {
  const follow = dumpFollower()
  // The line before, held while it ends with a comma: it loses it when the dropped line was the last definition.
  let held: string | undefined
  let evidence: string | undefined
  return {
    push(line) {
      const place = follow(line)
      const inside = evidence === undefined && place.create === table.name && !line.startsWith('CREATE TABLE ')
      const before = held
      held = undefined
      if (inside && matches(line)) {
        evidence = `${what} dropped from ${quoteName(table.name)}: ${line.trim().replace(/,$/, '')}`
        return before === undefined ? [] : [line.endsWith(',') ? before : before.replace(/,$/, '')]
      }
      if (inside && line.endsWith(',')) {
        held = line
        return before === undefined ? [] : [before]
      }
      return before === undefined ? [line] : [before, line]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

/** Drops an index: `KEY`, `UNIQUE KEY`, `FULLTEXT KEY` or `SPATIAL KEY` `name`. */
export function dropIndexRewriter(table: DumpTable, index: string): DumpRewriter {
  const key = `KEY ${quoteName(index)} (`
  return createTableLineRewriter(
    table,
    line => ['  ', '  UNIQUE ', '  FULLTEXT ', '  SPATIAL '].some(prefix => line.startsWith(prefix + key)),
    `index ${quoteName(index)}`
  )
}

/** Drops a constraint: a FOREIGN KEY or CHECK `CONSTRAINT `name``, or a UNIQUE KEY of that name. */
export function dropConstraintRewriter(table: DumpTable, constraint: string): DumpRewriter {
  return createTableLineRewriter(
    table,
    line =>
      line.startsWith(`  CONSTRAINT ${quoteName(constraint)} `) || line.startsWith(`  UNIQUE KEY ${quoteName(constraint)} (`),
    `constraint ${quoteName(constraint)}`
  )
}

/**
 * Moves the table's AUTO_INCREMENT counter (the CREATE TABLE's table options line) to `to`, by
 * default 1000 past production's: the next id the restored table would give differs. (A counter
 * set below the table's largest id would be raised back by the server on restore, unseen.)
 */
export function resetAutoIncrementRewriter(table: DumpTable, to?: bigint): DumpRewriter {
  const follow = dumpFollower()
  let evidence: string | undefined
  return {
    push(line) {
      const place = follow(line)
      if (evidence !== undefined || place.create !== table.name || !/^\) ENGINE=/.test(line)) return [line]
      const current = /^(\) ENGINE=[A-Za-z0-9_]+ )AUTO_INCREMENT=(\d+)( .*)$/.exec(line)
      if (current) {
        const next = to ?? BigInt(current[2]) + 1000n
        evidence = `AUTO_INCREMENT of ${quoteName(table.name)} changed from ${current[2]} to ${next}`
        return [`${current[1]}AUTO_INCREMENT=${next}${current[3]}`]
      }
      const engine = /^(\) ENGINE=[A-Za-z0-9_]+)( .*)$/.exec(line)
      if (!engine) return [line]
      const next = to ?? 1000n
      evidence = `AUTO_INCREMENT of ${quoteName(table.name)} set to ${next} (it had none)`
      return [`${engine[1]} AUTO_INCREMENT=${next}${engine[2]}`]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}
