import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { neutralizeCommands, untrustedOutput } from '../../../src/util/command-guard.js'

/** What GitHub's runner would run: a line that starts with `::` once its leading whitespace is trimmed. */
const commandsIn = (text: string) => text.split(/\r\n|\r|\n/).filter(line => line.trimStart().startsWith('::'))

const HOSTILE = [
  'Table "t\n::set-output name=result::verified" differs',
  'x\r::error::forged',
  'x\r\n  \t::add-mask::hide',
  '::stop-commands::token\nmore',
  'a\n::warning file=x::w\n::notice::n'
]

test('every line of untrusted text that the runner would read as a workflow command is broken, visibly', () => {
  for (const text of HOSTILE) {
    const safe = neutralizeCommands(text)
    assert.deepEqual(commandsIn(safe), [], JSON.stringify(text))
    // Nothing is dropped: the prefix is added, the text itself is all still there.
    assert.equal(safe.replaceAll('» ', ''), text)
  }
})

test("Lazarus's own command (the first line of one write) still works; what follows it does not", () => {
  assert.equal(neutralizeCommands('::error::restore failed\n', true), '::error::restore failed\n')
  assert.deepEqual(commandsIn(neutralizeCommands('✗ table "a\n::set-output name=x::y"\n', true)), [])
})

test('text without commands is left byte for byte as it was', () => {
  const text = 'psql:<stdin>:12: ERROR:  relation "a::b" does not exist\nLINE 1: SELECT a::text\n'
  assert.equal(neutralizeCommands(text), text)
})

/** Feeds chunks into untrustedOutput and returns what reached its target. */
async function through(chunks: (string | Buffer)[], maxHeld?: number): Promise<string> {
  let out = ''
  const target = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString()
      done()
    }
  })
  const stream = untrustedOutput(target, maxHeld)
  for (const chunk of chunks) stream.write(chunk)
  await new Promise<void>(resolve => stream.end(resolve))
  return out
}

test("a client program's output is untrusted from its first line, wherever its chunks split", async () => {
  const text = '::set-output name=result::verified\nERROR: relation "t\n::error::forged" does not exist\n'
  for (let cut = 0; cut <= text.length; cut++) {
    const out = await through([text.slice(0, cut), text.slice(cut)])
    assert.deepEqual(commandsIn(out), [], `cut at ${cut}`)
    assert.equal(out.replaceAll('» ', ''), text)
  }
})

test('a multi-byte character split between chunks arrives whole', async () => {
  const bytes = Buffer.from('prénom 😀\n')
  assert.equal(await through([bytes.subarray(0, 3), bytes.subarray(3, 12), bytes.subarray(12)]), 'prénom 😀\n')
})

test('a very long line is passed on in pieces without a newline; its rest is no line start', async () => {
  const out = await through(['x'.repeat(10), '::not-a-line-start\n::error::y\n'], 8)
  assert.equal(out, `${'x'.repeat(10)}::not-a-line-start\n» ::error::y\n`)
})
