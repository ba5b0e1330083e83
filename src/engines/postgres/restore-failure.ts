/**
 * Where in the dump's object list a restore failed. pg_dump heads every object with a TOC comment
 * (`-- Name: orders; Type: TABLE; Schema: public; Owner: -`, or `-- Data for Name: ...` before a
 * table's rows); psql names the line of its input where it stopped. The last TOC comment at or
 * before that line is the object psql was restoring: a reader learns "TABLE DATA public.orders",
 * not a line number in a dump nobody can see. Pure.
 */

/** One TOC comment of a plain dump. */
export interface TocEntry {
  /** pg_dump's object type: TABLE, TABLE DATA, INDEX, FK CONSTRAINT, FUNCTION, SEQUENCE SET, ... */
  type: string
  /** The object's name as pg_dump writes it in the comment (a function's with its arguments). */
  name: string
  /** Its schema; undefined for objects outside schemas (extensions, schemas themselves, ...). */
  schema?: string
}

/** The TOC comments pg_dump writes; grep -E and parseTocComment agree on it. */
export const TOC_COMMENT_PATTERN = '^-- (Data for )?Name: '

/** Parses `-- [Data for ]Name: X; Type: T; Schema: S; Owner: O` (Owner may be missing in old dumps). */
export function parseTocComment(line: string): TocEntry | undefined {
  const match = /^-- (?:Data for )?Name: (.*); Type: (.*?); Schema: (.*?)(?:; Owner: .*|; Tablespace: .*)?$/.exec(line)
  if (!match) return undefined
  const [, name, type, schema] = match
  return { type, name, ...(schema === '-' || schema === '' ? {} : { schema }) }
}

/** The input line psql names in its error (`psql:<stdin>:123: ERROR: ...`), the first one when several. */
export function psqlErrorLine(stderr: string): number | undefined {
  const match = /^psql:.*?:(\d+): (?:ERROR|FATAL|PANIC|error):/m.exec(stderr)
  return match ? Number(match[1]) : undefined
}

/**
 * The object being restored at `line`: the last of `entries` (numbered TOC comments in dump
 * order, as `grep -n` prints them: `123:-- Name: ...`) at or before it.
 */
export function tocEntryAt(numberedComments: Iterable<string>, line: number): TocEntry | undefined {
  let found: TocEntry | undefined
  for (const numbered of numberedComments) {
    const colon = numbered.indexOf(':')
    if (colon < 0) continue
    const at = Number(numbered.slice(0, colon))
    if (!(at <= line)) break
    found = parseTocComment(numbered.slice(colon + 1)) ?? found
  }
  return found
}

/** "TABLE DATA public.orders", "FUNCTION public.total(integer)", "EXTENSION postgis". */
export function describeTocEntry(entry: TocEntry): string {
  return `${entry.type} ${entry.schema === undefined ? entry.name : `${entry.schema}.${entry.name}`}`
}

/**
 * Where a failed restore stopped, in words, or undefined when psql named no line. `entry`
 * undefined with a line: psql stopped in the dump's preamble, before its first object.
 */
export function describeFailurePlace(entry: TocEntry | undefined, line: number | undefined): string | undefined {
  if (line === undefined) return undefined
  if (!entry) return "in the dump's opening settings, before its first object"
  return `while restoring ${describeTocEntry(entry)}`
}
