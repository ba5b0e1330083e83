import { randomBytes, randomUUID } from 'node:crypto'
import { displayName } from './compare.js'

/**
 * Chaos-drill operators: each corrupts a copy of the dump in a way that still restores cleanly,
 * so that it is the verifier, not the restore, that has to notice. Pure: they work on lines.
 */
export const SABOTAGE_OPERATORS = ['rogue-row'] as const
export type SabotageOperator = (typeof SABOTAGE_OPERATORS)[number]

/** A column as the drill needs to know it to invent values the schema accepts. */
export interface ColumnInfo {
  name: string
  /** pg_type.typname of the column's type, e.g. int4, text, uuid. */
  type: string
  /** pg_type.typtype: `b` base, `d` domain, `e` enum, ... */
  typtype: string
  /** pg_attribute.atttypmod: for varchar(n), n + 4; -1 when unlimited. */
  typmod: number
  generated: boolean
}

/** A production table's columns and constraints, from its catalog. */
export interface TableShape {
  schema: string
  name: string
  rows: number
  columns: ColumnInfo[]
  uniqueIndexes: { primary: boolean; expression: boolean; columns: string[] }[]
  /** Foreign-key (`f`), check (`c`) and exclusion (`x`) constraints with their columns. */
  constraints: { type: 'f' | 'c' | 'x'; columns: string[] }[]
}

type FreshKind = 'integer' | 'text' | 'uuid'

export interface RogueRowTarget {
  schema: string
  name: string
  /** Columns given new values so the copied row is new yet unique: keys, or one plain column. */
  freshColumns: { name: string; kind: FreshKind; maxLength?: number }[]
}

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'numeric'])
const TEXT_TYPES = new Set(['text', 'varchar'])
const ROGUE_TEXT_LENGTH = 20

function freshKind(column: ColumnInfo): FreshKind | undefined {
  if (column.typtype !== 'b' || column.generated) return undefined
  if (INTEGER_TYPES.has(column.type)) return 'integer'
  if (column.type === 'uuid') return 'uuid'
  if (TEXT_TYPES.has(column.type) && (column.typmod < 0 || column.typmod - 4 >= ROGUE_TEXT_LENGTH)) return 'text'
  return undefined
}

/**
 * Picks the table for a rogue row and the columns that must get fresh values. A rogue row is a
 * copy of an existing row (so every other constraint still holds) whose unique columns get
 * values nobody has; a table without keys gets one column changed so the row is new.
 * Tables are skipped where a fresh value could break the restore: keys that are foreign keys,
 * under a check or exclusion constraint, generated, expressions, or of other types; partitions,
 * whose bounds a new key could leave.
 */
export function chooseRogueRowTarget(tables: TableShape[]): RogueRowTarget | undefined {
  const candidates: { target: RogueRowTarget; hasPrimaryKey: boolean; rows: number }[] = []
  for (const table of tables) {
    if (table.rows === 0) continue
    const target = rogueRowPlan(table)
    if (target) candidates.push({ target, hasPrimaryKey: table.uniqueIndexes.some(index => index.primary), rows: table.rows })
  }
  candidates.sort(
    (a, b) =>
      Number(b.hasPrimaryKey) - Number(a.hasPrimaryKey) ||
      b.rows - a.rows ||
      displayName(a.target).localeCompare(displayName(b.target))
  )
  return candidates[0]?.target
}

function rogueRowPlan(table: TableShape): RogueRowTarget | undefined {
  if (table.constraints.some(constraint => constraint.type === 'x')) return undefined
  const constrained = new Set(
    table.constraints.filter(constraint => constraint.type !== 'x').flatMap(constraint => constraint.columns)
  )
  const columnsByName = new Map(table.columns.map(column => [column.name, column]))
  const plan = (names: string[]): RogueRowTarget['freshColumns'] | undefined => {
    const fresh: RogueRowTarget['freshColumns'] = []
    for (const name of names) {
      const column = columnsByName.get(name)
      const kind = column && !constrained.has(name) ? freshKind(column) : undefined
      if (!column || !kind) return undefined
      fresh.push({ name, kind, maxLength: column.typmod > 4 && kind === 'text' ? column.typmod - 4 : undefined })
    }
    return fresh
  }
  if (table.uniqueIndexes.length > 0) {
    if (table.uniqueIndexes.some(index => index.expression)) return undefined
    const keyColumns = [...new Set(table.uniqueIndexes.flatMap(index => index.columns))]
    const fresh = plan(keyColumns)
    return fresh ? { schema: table.schema, name: table.name, freshColumns: fresh } : undefined
  }
  for (const column of table.columns) {
    const fresh = plan([column.name])
    if (fresh) return { schema: table.schema, name: table.name, freshColumns: fresh }
  }
  return undefined
}

/** A line-by-line rewrite of a plain dump. `push` returns the lines to write in its place. */
export interface DumpRewriter {
  push(line: string): string[]
  /** What was done, once the whole dump went through; undefined when the target was never found. */
  result(): { evidence: string } | undefined
}

/** Parses `COPY schema.table (col, "Col") FROM stdin;` into unquoted names. */
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
    if (char === ' ') {
      i++
    } else if (char === '"') {
      let j = i + 1
      while (j < text.length) {
        if (text[j] === '"' && text[j + 1] === '"') j += 2
        else if (text[j] === '"') break
        else j++
      }
      if (j >= text.length) return undefined
      tokens.push(text.slice(i, j + 1))
      i = j + 1
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

function unquote(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token
}

/**
 * Injects one rogue row at the end of the target table's COPY block: a copy of the block's first
 * row with fresh values in `freshColumns` (integers one past the block's maximum, so they are
 * unused; text and uuids random).
 */
export function rogueRowRewriter(target: RogueRowTarget): DumpRewriter {
  let inTarget = false
  let columnIndexes: number[] = []
  let template: string[] | undefined
  let maxima: bigint[] = []
  let evidence: string | undefined

  return {
    push(line) {
      if (!inTarget) {
        const header = parseCopyHeader(line)
        if (header && header.schema === target.schema && header.name === target.name && evidence === undefined) {
          columnIndexes = target.freshColumns.map(column => header.columns.indexOf(column.name))
          if (columnIndexes.every(index => index >= 0)) {
            inTarget = true
            maxima = target.freshColumns.map(() => 0n)
          }
        }
        return [line]
      }
      if (line !== '\\.') {
        const fields = line.split('\t')
        template ??= fields
        target.freshColumns.forEach((column, i) => {
          const value = fields[columnIndexes[i]]
          if (column.kind === 'integer' && /^-?\d+$/.test(value) && BigInt(value) > maxima[i]) maxima[i] = BigInt(value)
        })
        return [line]
      }
      inTarget = false
      if (!template) return [line]
      const rogue = [...template]
      const shown: string[] = []
      target.freshColumns.forEach((column, i) => {
        const value = freshValue(column, maxima[i])
        rogue[columnIndexes[i]] = value
        shown.push(value)
      })
      evidence = `(${target.freshColumns.map(column => column.name).join(', ')})=(${shown.join(', ')})`
      return [rogue.join('\t'), line]
    },
    result: () => (evidence === undefined ? undefined : { evidence })
  }
}

function freshValue(column: RogueRowTarget['freshColumns'][number], maximum: bigint): string {
  switch (column.kind) {
    case 'integer':
      return (maximum + 1n).toString()
    case 'uuid':
      return randomUUID()
    case 'text':
      return `rogue-${randomBytes(8).toString('hex')}`.slice(0, Math.min(column.maxLength ?? ROGUE_TEXT_LENGTH, ROGUE_TEXT_LENGTH))
  }
}
