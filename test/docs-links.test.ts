// The README is a landing page that links into docs/, and the pages link to each other and to
// the code: every relative link must reach a file that exists, and every #anchor a heading of
// that file (GitHub's anchors), and every repository path named in a code span must exist, so
// that moving a section or a file never leaves a reader at a dead end.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The markdown files a reader moves between. */
function markdownFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter(name => name.endsWith('.md'))
    .map(name => path.join('docs', name))
  return ['README.md', 'SECURITY.md', 'CHANGELOG.md', 'bench/README.md', ...docs.sort()]
}

/** Markdown without its fenced code blocks (a `# comment` in YAML is no heading, a `[x](y)` in code no link). */
function prose(markdown: string): string {
  return markdown.replace(/^\s*```[^\n]*\n[\s\S]*?^\s*```[^\n]*$/gm, '')
}

/** GitHub's anchor of a heading: lower case, punctuation other than - and _ dropped, spaces to -. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-')
}

/** Every anchor the headings of a markdown text get, repeated headings numbered as GitHub does. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const [, heading = ''] of prose(markdown).matchAll(/^#{1,6} (.*)$/gm)) {
    const base = headingAnchor(heading)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

/** The relative link targets of a markdown text: [text](target), images included. */
function relativeLinks(markdown: string): string[] {
  const targets = [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map(m => m[1] ?? '')
  return targets.filter(target => !/^[a-z][a-z0-9+.-]*:/i.test(target))
}

test('anchors follow GitHub: punctuation dropped, underscores and hyphens kept, repeats numbered', () => {
  assert.equal(headingAnchor('What a restore runs, with which rights'), 'what-a-restore-runs-with-which-rights')
  assert.equal(headingAnchor('Which `pg_dump` runs'), 'which-pg_dump-runs')
  assert.equal(headingAnchor('Version-skew catalogue'), 'version-skew-catalogue')
  assert.deepEqual([...anchorsOf('# A\n\n## A\n\n```yaml\n# B\n```\n')], ['a', 'a-1'])
})

test('every relative link in the README and docs/ reaches a file, and every anchor a heading there', () => {
  const broken: string[] = []
  let checked = 0
  for (const file of markdownFiles()) {
    const text = fs.readFileSync(path.join(root, file), 'utf8')
    for (const link of relativeLinks(text)) {
      checked++
      const [target = '', anchor] = link.split('#', 2)
      const resolved = target === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), target)
      if (!fs.existsSync(resolved)) {
        broken.push(`${file}: ${link} (no such file)`)
        continue
      }
      if (anchor === undefined) continue
      if (!resolved.endsWith('.md')) {
        broken.push(`${file}: ${link} (an anchor into a file that is not markdown)`)
        continue
      }
      if (!anchorsOf(fs.readFileSync(resolved, 'utf8')).has(anchor))
        broken.push(`${file}: ${link} (no heading "#${anchor}" in ${path.relative(root, resolved)})`)
    }
  }
  assert.ok(checked > 100, `only ${checked} links found: is the link pattern still right?`)
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`)
})

test('the README is a landing page: quick start first, then links to every page of docs/', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  const headings = [...prose(readme).matchAll(/^## (.*)$/gm)].map(m => m[1])
  assert.equal(headings[0], 'Quick start', 'the first section is the quick start')
  const start = readme.indexOf('## Quick start')
  const firstWorkflow = readme.indexOf('```yaml', start)
  assert.ok(readme.slice(0, firstWorkflow).split('\n').length < 25, 'the quick start workflow begins on the first screen')
  const linked = new Set(relativeLinks(readme).map(link => link.split('#')[0]))
  const pages = fs.readdirSync(path.join(root, 'docs')).filter(name => name.endsWith('.md'))
  const unlinked = pages.filter(name => !linked.has(`docs/${name}`))
  assert.deepEqual(unlinked, [], 'every docs/ page is linked from the README')
})

test('every file of this repository the README and docs/ name in code spans exists', () => {
  // Paths such as `src/...` or `test/e2e/...` are how the pages point into the code; a file moved
  // without its mention would send a reader nowhere. The fleet file is the reader's own repository's,
  // and src/bin/, src/backend/... are PostgreSQL's source tree (pg_dump.c), cited by the skew page.
  const theirs = new Set(['.github/lazarus-fleet.json'])
  const postgresSource = /^src\/(bin|backend|include|interfaces|fe_utils|common|port)\//
  const missing: string[] = []
  let checked = 0
  for (const file of markdownFiles().filter(file => file !== 'CHANGELOG.md')) {
    const text = prose(fs.readFileSync(path.join(root, file), 'utf8'))
    for (const [, mention = ''] of text.matchAll(/`((?:src|test|bench|scripts|docs|dist|\.github|\.ci)\/[^`\s*]+)`/g)) {
      if (theirs.has(mention) || postgresSource.test(mention)) continue
      checked++
      if (!fs.existsSync(path.join(root, mention))) missing.push(`${file}: ${mention}`)
    }
  }
  assert.ok(checked > 20, `only ${checked} paths found: is the pattern still right?`)
  assert.deepEqual(missing, [], `named but missing:\n${missing.join('\n')}`)
})
