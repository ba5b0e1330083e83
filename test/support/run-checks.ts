import assert from 'node:assert/strict'
import { errorAnnotations, explain, leftoverWorkDirs, type ActionResult } from './action-process.js'
import type { Cluster } from './cluster.js'

// What the e2e tests of failing runs (faults, stored-faults, safety) look for on the servers and
// assert of a run, in one place so that each file holds a run to the same contract.

/** Scratch databases of one run (by its run id) on a server, or every Lazarus database there. */
export async function lazarusDatabases(cluster: Pick<Cluster, 'query'>, runId = ''): Promise<string[]> {
  const prefix = `lazarus_${runId}`.replace(/_/g, '\\_')
  const rows = await cluster.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%' ORDER BY 1`
  )
  return rows.map(row => row.datname)
}

/**
 * Polls `probe` until it finds something, and returns it; after `timeoutMs` fails saying what did
 * not happen, with the run's output so far (`output`: the running action, or what prints it).
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  output?: { stdout(): string } | (() => string),
  timeoutMs = 60_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await probe()
    if (found !== undefined) return found
    if (Date.now() > deadline) {
      const text = typeof output === 'function' ? output() : (output?.stdout() ?? '')
      throw new Error(`${what} did not happen\n${text}`)
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** One error annotation matching `cause`, result `error`, and no work files left. */
export function assertOneError(run: ActionResult, cause: RegExp): void {
  assert.equal(run.exitCode, 1, explain(run))
  const errors = errorAnnotations(run.stdout)
  assert.equal(errors.length, 1, `exactly one error annotation, got ${errors.length}\n${explain(run)}`)
  assert.match(errors[0], cause, explain(run))
  assert.equal(run.outputs.result, 'error', explain(run))
  assert.deepEqual(leftoverWorkDirs(run.runnerTemp), [], 'no work files are left')
}
