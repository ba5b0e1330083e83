import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// The architecture, held by the import statements of src/ (docs/development.md, "The layout").
// Each file is read as TypeScript (static imports, `export ... from`, `import type`, dynamic
// `import()` and `typeof import()` alike), so an edge cannot hide behind a type-only import.

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src')

/**
 * The layers, lowest first. A file may import its own layer and the layers below it, never one
 * above: an engine knows nothing of the run that calls it, the report nothing of the action's
 * inputs. `verification` and `drill` share a rank: neither needs the other.
 */
const LAYERS: Record<string, number> = {
  util: 0,
  engines: 1,
  verification: 2,
  drill: 2,
  report: 3,
  run: 4,
  action: 5,
  '.': 6 // src/index.ts, the entry point
}

/** The only files that may import these packages. */
const PACKAGE_OWNERS: Record<string, string[]> = {
  // The driver: one session type, one place that speaks the wire protocol.
  pg: ['engines/postgres/database.ts'],
  mysql2: ['engines/mysql/database.ts'],
  'mysql2/promise': ['engines/mysql/database.ts'],
  // Spawning programs: the engines' client-tool modules, which own the stream.
  '@actions/exec': ['engines/postgres/pg-tools.ts', 'engines/postgres/pg-restore.ts', 'engines/mysql/tools.ts']
}

/** What only the action's edge may do with @actions/core: read inputs, set outputs, keep state between main and post. */
const EDGE_ONLY_CORE = [
  'getInput',
  'getBooleanInput',
  'getMultilineInput',
  'setOutput',
  'saveState',
  'getState',
  'exportVariable',
  'addPath'
]

export interface SourceFile {
  /** Path under src/, with forward slashes. */
  file: string
  text: string
}

interface Edge {
  from: string
  to: string
}

export function readSources(dir = SRC, base = ''): SourceFile[] {
  const out: SourceFile[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...readSources(path.join(dir, entry.name), rel))
    else if (entry.name.endsWith('.ts')) out.push({ file: rel, text: readFileSync(path.join(dir, entry.name), 'utf8') })
  }
  return out
}

/** Every module specifier a file names: import/export declarations, import(), and import types. */
export function specifiers(source: SourceFile): string[] {
  const sf = ts.createSourceFile(source.file, source.text, ts.ScriptTarget.ES2022, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments
      if (arg && ts.isStringLiteralLike(arg)) found.push(arg.text)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return found
}

/** The src/ file a relative specifier points at (`./x.js` is `x.ts`). */
function resolve(from: string, specifier: string): string {
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)).replace(/\.js$/, '.ts')
}

function localEdges(sources: SourceFile[]): Edge[] {
  return sources.flatMap(source =>
    specifiers(source)
      .filter(s => s.startsWith('.'))
      .map(s => ({ from: source.file, to: resolve(source.file, s) }))
  )
}

function layerOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : '.'
}

/** The engine folder a file belongs to (engines/<name>/...), if any. */
function engineOf(file: string): string | undefined {
  const parts = file.split('/')
  return parts[0] === 'engines' && parts.length > 2 ? parts[1] : undefined
}

/** Import edges that go up the layers, or from one engine into another. */
export function layerViolations(sources: SourceFile[]): string[] {
  const problems: string[] = []
  for (const { from, to } of localEdges(sources)) {
    const [a, b] = [layerOf(from), layerOf(to)]
    if (!(a in LAYERS)) problems.push(`${from} is in no layer (add its folder to LAYERS)`)
    else if (!(b in LAYERS)) problems.push(`${to} (imported by ${from}) is in no layer`)
    else if (LAYERS[b]! > LAYERS[a]!) problems.push(`${from} (${a}) imports ${to} (${b}), a higher layer`)
    const [ea, eb] = [engineOf(from), engineOf(to)]
    // An engine's folder never reaches into another's; engines/index.ts (the map) may name them all.
    if (ea !== undefined && eb !== undefined && ea !== eb) problems.push(`${from} imports another engine's ${to}`)
  }
  return problems
}

/** Import circles, each as the files of one strongly connected component (Tarjan). */
export function importCircles(sources: SourceFile[]): string[][] {
  const graph = new Map<string, string[]>(sources.map(s => [s.file, []]))
  for (const { from, to } of localEdges(sources)) graph.get(from)?.push(to)
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const circles: string[][] = []
  const connect = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) connect(v)
  return circles
}

/** Files that import a package they are not the owner of. */
export function packageViolations(sources: SourceFile[]): string[] {
  const problems: string[] = []
  for (const source of sources) {
    for (const s of specifiers(source)) {
      const owners = PACKAGE_OWNERS[s]
      if (owners && !owners.includes(source.file)) problems.push(`${source.file} imports ${s} (only ${owners.join(', ')} may)`)
    }
  }
  return problems
}

/** Files outside src/action/ that read inputs, set outputs or keep state through @actions/core. */
export function edgeViolations(sources: SourceFile[]): string[] {
  const problems: string[] = []
  for (const source of sources) {
    if (layerOf(source.file) === 'action' || !specifiers(source).includes('@actions/core')) continue
    const sf = ts.createSourceFile(source.file, source.text, ts.ScriptTarget.ES2022, true)
    const visit = (node: ts.Node): void => {
      const name = ts.isPropertyAccessExpression(node)
        ? node.name.text
        : ts.isImportSpecifier(node)
          ? (node.propertyName ?? node.name).text
          : undefined
      if (name !== undefined && EDGE_ONLY_CORE.includes(name))
        problems.push(`${source.file} uses core.${name} (only src/action/ may)`)
      ts.forEachChild(node, visit)
    }
    visit(sf)
  }
  return problems
}

/**
 * A string that is a statement: it starts with an SQL keyword, then a space, a semicolon or its
 * end (`'COMMIT'` is one). Messages that merely name a statement do not.
 */
const SQL_START =
  /^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|BEGIN|START TRANSACTION|SET|RESET|SAVEPOINT|ROLLBACK|RELEASE|COMMIT|COMMENT ON|GRANT|REVOKE|LOCK|COPY|DO|TRUNCATE|ANALYZE|VACUUM)(\s|;|$)/

/** The string and template literals of a file that read as SQL statements. */
function statements(source: SourceFile): string[] {
  const sf = ts.createSourceFile(source.file, source.text, ts.ScriptTarget.ES2022, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    const text =
      ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)
        ? node.text
        : ts.isTemplateExpression(node)
          ? node.head.text
          : undefined
    if (text !== undefined && SQL_START.test(text)) found.push(text)
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return found
}

/** Files outside src/engines/ that write SQL statements. */
export function sqlOutsideEngines(sources: SourceFile[]): string[] {
  return sources
    .filter(s => layerOf(s.file) !== 'engines' && statements(s).length > 0)
    .map(s => s.file)
    .sort()
}

/**
 * The algorithms' files (verification/, drill/) that import an engine's session or query
 * interface: they read through the neutral reads of engines/reads.ts, never a driver's session.
 */
export function sessionsInAlgorithms(sources: SourceFile[]): string[] {
  const problems: string[] = []
  for (const { from, to } of localEdges(sources)) {
    if (!['verification', 'drill'].includes(layerOf(from))) continue
    if (engineOf(to) !== undefined && /\/(database|queryable)\.ts$/.test(to)) problems.push(`${from} imports ${to}`)
  }
  return problems
}

/**
 * Places outside src/report/ that decide a verdict: an assignment to a report's `result`, or an
 * Object.assign onto a report of an object literal that names one. The run and the action's edge
 * call report.ts's judge functions instead (report.ts: judgeVerified, judgeRestoreFailed, ...).
 */
export function verdictsOutsideReport(sources: SourceFile[]): string[] {
  const problems: string[] = []
  for (const source of sources) {
    if (layerOf(source.file) === 'report') continue
    const sf = ts.createSourceFile(source.file, source.text, ts.ScriptTarget.ES2022, true)
    const aReport = (node: ts.Node) => /report/i.test(node.getText(sf))
    const namesResult = (node: ts.Node) =>
      ts.isObjectLiteralExpression(node) &&
      node.properties.some(p => p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === 'result')
    const visit = (node: ts.Node): void => {
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        ts.isPropertyAccessExpression(node.left) &&
        node.left.name.text === 'result' &&
        aReport(node.left.expression)
      ) {
        problems.push(`${source.file}: ${node.getText(sf).split('\n')[0]}`)
      } else if (
        ts.isCallExpression(node) &&
        node.expression.getText(sf) === 'Object.assign' &&
        node.arguments.length > 1 &&
        aReport(node.arguments[0]) &&
        node.arguments.slice(1).some(namesResult)
      ) {
        problems.push(`${source.file}: ${node.getText(sf).split('\n')[0]}`)
      }
      ts.forEachChild(node, visit)
    }
    visit(sf)
  }
  return problems
}

/** Files outside src/engines/ that import a module of an engine's folder (engines/<name>/...). */
export function reachingIntoEngines(sources: SourceFile[]): string[] {
  const files = new Set<string>()
  for (const { from, to } of localEdges(sources)) if (layerOf(from) !== 'engines' && engineOf(to) !== undefined) files.add(from)
  return [...files].sort()
}

/** Files that write CREATE DATABASE or DROP DATABASE. */
export function databaseDdl(sources: SourceFile[]): string[] {
  return sources
    .filter(s => statements(s).some(sql => /^\s*(CREATE|DROP) DATABASE\b/.test(sql)))
    .map(s => s.file)
    .sort()
}

const sources = readSources()

test('the architecture test reads every module of src/ and the imports between them', () => {
  assert.ok(sources.length > 50, `only ${sources.length} files under src/`)
  assert.ok(localEdges(sources).length > 100)
  assert.deepEqual(
    sources.map(s => layerOf(s.file)).filter(layer => !(layer in LAYERS)),
    [],
    'every folder of src/ is a layer'
  )
})

test('src/ has no import circles', () => {
  assert.deepEqual(importCircles(sources), [])
})

test('a module imports only its own layer and those below it: util < engines < verification, drill < report < run < action', () => {
  assert.deepEqual(layerViolations(sources), [])
})

test('pg and mysql2 are each imported by one file, @actions/exec only by the engines client-tool modules', () => {
  assert.deepEqual(packageViolations(sources), [])
})

test('inputs, outputs and saved state are touched only at the action edge (src/action/)', () => {
  assert.deepEqual(edgeViolations(sources), [])
})

test('SQL is written inside src/engines/ only: no algorithm, stage or report writes any', () => {
  assert.deepEqual(sqlOutsideEngines(sources), [])
})

test("the algorithms (verification/, drill/) hold no engine's session: they read through engines/reads.ts", () => {
  assert.deepEqual(sessionsInAlgorithms(sources), [])
})

test("one place decides the verdict: only src/report/ sets a report's result (the run calls its judge functions)", () => {
  assert.deepEqual(verdictsOutsideReport(sources), [])
})

test('outside src/engines/ an engine is reached only through the seam (engines/types.ts, engines/reads.ts, engines/index.ts)', () => {
  assert.deepEqual(reachingIntoEngines(sources), [])
})

test('only the clean room maintenance handle creates or drops a database', () => {
  assert.deepEqual(databaseDdl(sources), ['engines/mysql/maintenance.ts', 'engines/postgres/maintenance.ts'])
})

test('the checks see an edge added against the rules', () => {
  // A run module imported by the engine's session, closing a circle through the pipeline.
  const bad = sources.map(s =>
    s.file === 'engines/postgres/queryable.ts'
      ? { ...s, text: `import type { PipelineResult } from '../../run/pipeline.js'\n${s.text}` }
      : s
  )
  assert.ok(layerViolations(bad).some(p => p.startsWith('engines/postgres/queryable.ts (engines) imports run/pipeline.ts')))
  assert.ok(importCircles(bad).some(c => c.includes('engines/postgres/queryable.ts') && c.includes('run/pipeline.ts')))
  const pg = [
    ...sources,
    { file: 'verification/extra.ts', text: `import pg from 'pg'\nimport * as core from '@actions/core'\ncore.setOutput('x', pg)` }
  ]
  assert.deepEqual(packageViolations(pg), ['verification/extra.ts imports pg (only engines/postgres/database.ts may)'])
  const mysql2 = [...sources, { file: 'engines/mysql/schema-queries.ts', text: `import mysql from 'mysql2/promise'` }]
  assert.deepEqual(packageViolations(mysql2), [
    'engines/mysql/schema-queries.ts imports mysql2/promise (only engines/mysql/database.ts may)'
  ])
  assert.deepEqual(edgeViolations(pg), ['verification/extra.ts uses core.setOutput (only src/action/ may)'])
  const engines = [
    ...sources,
    { file: 'engines/mysql/session.ts', text: `import { DatabaseSession } from '../postgres/database.js'` }
  ]
  assert.deepEqual(layerViolations(engines).slice(-1), [
    "engines/mysql/session.ts imports another engine's engines/postgres/database.ts"
  ])
  // SQL put back into an algorithm, and the session it would need.
  const sql = sources.map(s =>
    s.file === 'verification/row-diff.ts'
      ? {
          ...s,
          text: `import type { Queryable } from '../engines/postgres/queryable.js'\n${s.text}\nexport const q = (db: Queryable) => db.query(\`SELECT count(*) FROM t\`)`
        }
      : s
  )
  assert.deepEqual(sqlOutsideEngines(sql), ['verification/row-diff.ts'])
  assert.deepEqual(sessionsInAlgorithms(sql), ['verification/row-diff.ts imports engines/postgres/queryable.ts'])
  // A verdict decided in the run, either way.
  const verdicts = [
    ...sources,
    { file: 'run/extra.ts', text: `export function f(report: { result: string }) { report.result = 'restore-failed' }` },
    {
      file: 'run/other.ts',
      text: `export function g(run: { report: object }) { Object.assign(run.report, { result: 'mismatch' }) }`
    }
  ]
  // The run reaching past the seam into an engine's folder.
  const reaching = sources.map(s =>
    s.file === 'run/pipeline.ts' ? { ...s, text: `import { MysqlSession } from '../engines/mysql/database.js'\n${s.text}` } : s
  )
  assert.deepEqual(reachingIntoEngines(reaching), ['run/pipeline.ts'])
  assert.deepEqual(verdictsOutsideReport(verdicts), [
    "run/extra.ts: report.result = 'restore-failed'",
    "run/other.ts: Object.assign(run.report, { result: 'mismatch' })"
  ])
})
