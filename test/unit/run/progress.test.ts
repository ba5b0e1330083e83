import { mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Counter, reportProgress } from '../../../src/run/progress.js'
import { capturingStdout } from '../../support/capture-stdout.js'

test('a long stage logs its progress at each interval until it stops, and a failing probe never throws', async () => {
  // Mocked intervals: the test decides when each one fires, so a busy machine cannot change what it sees.
  mock.timers.enable({ apis: ['setInterval'] })
  try {
    const counter = new Counter(40, 'production tables read')
    let probes = 0
    const { output } = await capturingStdout(async () => {
      const stop = reportProgress(() => {
        probes++
        counter.done = Math.min(counter.total, counter.done + 10)
        if (probes === 2) throw new Error('server busy')
        return counter.describe()
      }, 20)
      for (let interval = 0; interval < 3; interval++) {
        mock.timers.tick(20)
        await nextTurn()
      }
      assert.equal(probes, 3, 'one probe per interval')
      stop()
      mock.timers.tick(100)
      await nextTurn()
      assert.equal(probes, 3, 'nothing is probed once stopped')
    })
    const lines = output.split('\n').filter(line => line.includes('tables read'))
    assert.deepEqual(lines, ['10 of 40 production tables read', '30 of 40 production tables read'])
    const mentions = output.split('\n').filter(line => line.includes('server busy'))
    assert.deepEqual(mentions, ['::debug::Progress probe failed: server busy'], 'a failed probe only goes to the debug log')
  } finally {
    mock.timers.reset()
  }
})
