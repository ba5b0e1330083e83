import * as core from '@actions/core'
import { messageOf } from '../util/errors.js'

/** How often a long stage reports progress: often enough to show life, rarely enough to stay readable. */
export const PROGRESS_INTERVAL_MS = 15_000

/**
 * Logs `describe()` every interval until stopped, so a 20-minute stage never looks hung.
 * A failing probe is logged once and never fails the run.
 */
export function reportProgress(
  describe: () => Promise<string | undefined> | string | undefined,
  intervalMs = PROGRESS_INTERVAL_MS
): () => void {
  let stopped = false
  const timer = setInterval(async () => {
    try {
      const line = await describe()
      if (line && !stopped) core.info(line)
    } catch (error) {
      core.debug(`Progress probe failed: ${messageOf(error)}`)
    }
  }, intervalMs)
  timer.unref()
  return () => {
    stopped = true
    clearInterval(timer)
  }
}

/** Counts finished items; `describe` reads "<done> of <total> <what>". */
export class Counter {
  done = 0
  constructor(
    readonly total: number,
    private readonly what: string
  ) {}

  describe(): string {
    return `${this.done} of ${this.total} ${this.what}`
  }
}
