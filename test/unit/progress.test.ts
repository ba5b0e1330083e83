import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Counter, reportProgress } from '../../src/progress.js'
import { capturingStdout } from '../support/capture-stdout.js'

test('a long stage logs its progress at each interval until it stops, and a failing probe never throws', async () => {
  const counter = new Counter(40, 'production tables fingerprinted')
  let probes = 0
  const { output } = await capturingStdout(async () => {
    const stop = reportProgress(() => {
      probes++
      counter.done = Math.min(counter.total, counter.done + 10)
      if (probes === 2) throw new Error('server busy')
      return counter.describe()
    }, 20)
    await new Promise(resolve => setTimeout(resolve, 110))
    stop()
    const logged = probes
    await new Promise(resolve => setTimeout(resolve, 60))
    assert.equal(probes, logged, 'nothing is probed once stopped')
  })
  const lines = output.split('\n').filter(line => line.includes('fingerprinted'))
  assert.ok(lines.length >= 2, output)
  assert.equal(lines[0], '10 of 40 production tables fingerprinted')
  const mentions = output.split('\n').filter(line => line.includes('server busy'))
  assert.deepEqual(mentions, ['::debug::Progress probe failed: server busy'], 'a failed probe only goes to the debug log')
})
