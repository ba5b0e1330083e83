/**
 * Where in a mysqldump/mariadb-dump a restore failed. The dump heads each object with a comment
 * (`-- Table structure for table `orders``, `-- Dumping data for table `orders``, `-- Dumping
 * routines for database 'shop'`...), and a routine, trigger or event starts with its own CREATE
 * line; the client names the input line where the failing statement began (`ERROR 1064 (42000)
 * at line 123: ...`). The last such line at or before it is the object being restored: a reader
 * learns "data of table `orders`", not a line number in a dump nobody can see. Pure.
 */

export interface DumpObject {
  /** table, table data, view, sequence, routine, trigger, event, routines, events */
  kind: string
  /** As the dump writes it: `orders` (backquoted), or a database name in quotes for routines and events. */
  name: string
}

const COMMENTS: [RegExp, string][] = [
  [/^-- Table structure for table (`(?:[^`]|``)*`)$/, 'table'],
  [/^-- Dumping data for table (`(?:[^`]|``)*`)$/, 'table data'],
  [/^-- Temporary (?:table|view) structure for view (`(?:[^`]|``)*`)$/, 'view'],
  [/^-- Final view structure for view (`(?:[^`]|``)*`)$/, 'view'],
  [/^-- Sequence structure for (`(?:[^`]|``)*`)$/, 'sequence'],
  [/^-- Dumping routines for database ('.*')$/, 'routines'],
  [/^-- Dumping events for database ('.*')$/, 'events']
]

/** A routine's, trigger's or event's first line, as the dump writes it (DEFINER stripped or not). */
const CREATES: [RegExp, string][] = [
  [/^CREATE (?:DEFINER=\S+ )?(?:AGGREGATE )?(PROCEDURE|FUNCTION|PACKAGE BODY|PACKAGE) (`(?:[^`]|``)*`)/, 'routine'],
  [/^\/\*!50003 CREATE\*\/ (?:\/\*!50017 DEFINER=\S+\*\/ )?\/\*!50003 TRIGGER (`(?:[^`]|``)*`|[^\s`]+)/, 'trigger'],
  [/^\/\*!50106 CREATE\*\/ (?:\/\*!50117 DEFINER=\S+\*\/ )?\/\*!50106 EVENT (`(?:[^`]|``)*`|[^\s`]+)/, 'event']
]

/** The sed pattern (ERE, `/` escaped for an address) of the lines parseObjectLine reads: sed keeps only these in its line index. */
export const OBJECT_LINE_PATTERN =
  '^(-- (Table structure for table|Dumping data for table|Temporary (table|view) structure for view|Final view structure for view|Sequence structure for|Dumping routines for database|Dumping events for database) |' +
  'CREATE (DEFINER=[^ ]+ )?(AGGREGATE )?(PROCEDURE|FUNCTION|PACKAGE) |' +
  '\\/\\*!50003 CREATE\\*\\/ |\\/\\*!50106 CREATE\\*\\/ )'

export function parseObjectLine(line: string): DumpObject | undefined {
  for (const [pattern, kind] of COMMENTS) {
    const match = pattern.exec(line)
    if (match) return { kind, name: match[1] }
  }
  for (const [pattern, kind] of CREATES) {
    const match = pattern.exec(line)
    if (match) return kind === 'routine' ? { kind: match[1].toLowerCase(), name: match[2] } : { kind, name: match[1] }
  }
  return undefined
}

/** The input line the client names in its error (`ERROR 1064 (42000) at line 12: ...`), the first one. */
export function mysqlErrorLine(stderr: string): number | undefined {
  const match = /^ERROR(?: \d+ \([0-9A-Z]{5}\))? at line (\d+)/m.exec(stderr)
  return match ? Number(match[1]) : undefined
}

/**
 * The object being restored at `line`: the last of `numbered` (object lines in dump order, as
 * `123:-- Table structure for table `t``) at or before it.
 */
export function dumpObjectAt(numbered: Iterable<string>, line: number): DumpObject | undefined {
  let found: DumpObject | undefined
  for (const entry of numbered) {
    const colon = entry.indexOf(':')
    if (colon < 0) continue
    if (!(Number(entry.slice(0, colon)) <= line)) break
    found = parseObjectLine(entry.slice(colon + 1)) ?? found
  }
  return found
}

/** "data of table `orders`", "trigger `audit`", "the routines of database 'shop'". */
export function describeDumpObject(object: DumpObject): string {
  switch (object.kind) {
    case 'table data':
      return `the data of table ${object.name}`
    case 'routines':
      return `the routines of database ${object.name}`
    case 'events':
      return `the events of database ${object.name}`
    default:
      return `${object.kind} ${object.name}`
  }
}
