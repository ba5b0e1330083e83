import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { node24Path, parseFileCommand, repoRoot, runnerEnvironment } from './run-action.js'

/**
 * The bundled action as a live process, for tests that must act while it runs: send it the
 * signals a cancelled workflow sends, kill it outright, watch its children, or run its post step
 * afterwards with the state it saved. Runs the bundle exactly as run-action.ts does (Node 24,
 * INPUT_* with action.yml defaults, runner file commands), and additionally keeps the saved state.
 */

export interface ActionResult {
  exitCode: number | null
  /** The signal that ended the process, when one did. */
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  /** State saved with core.saveState, as the runner hands it to the post step. */
  state: Record<string, string>
  summary: string
  report?: any
  /** RUNNER_TEMP as the action saw it. */
  runnerTemp: string
  /** The directory holding the runner's file-command files (GITHUB_OUTPUT, ...). */
  commandDir: string
  seconds: number
}

export interface ActionProcess {
  pid: number
  runnerTemp: string
  child: ChildProcess
  /** stdout so far. */
  stdout(): string
  /** Resolves once stdout matches `pattern`; rejects on timeout or when the process ends first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>
  /** Resolves when the process has ended and its outputs are read. */
  finished: Promise<ActionResult>
}

export interface StartActionOptions {
  /** Extra environment, applied last. */
  env?: Record<string, string>
  /** Use this directory as RUNNER_TEMP (e.g. a small filesystem, or a main step's for its post step). */
  runnerTemp?: string
  /** SIGKILL the process after this long (default 120 s); the result then has signal SIGKILL. */
  timeoutMs?: number
}

/**
 * The bundle to run: dist/index.js, or LAZARUS_TEST_BUNDLE when set (a bundle built outside the
 * checkout, e.g. while someone else is rebuilding dist/).
 */
export function bundlePath(): string {
  return process.env.LAZARUS_TEST_BUNDLE || path.join(repoRoot, 'dist', 'index.js')
}

/**
 * At most this many action processes run at once (LAZARUS_TEST_MAX_ACTIONS, default 4): a test
 * may start many independent runs together, but on a 2-core machine dozens of Node processes
 * parsing the bundle at once would only make every one of them slow, and the timings meaningless.
 */
const MAX_RUNNING = Number(process.env.LAZARUS_TEST_MAX_ACTIONS) || 4
let running = 0
const queue: (() => void)[] = []

async function acquireSlot(): Promise<() => void> {
  if (running >= MAX_RUNNING) await new Promise<void>(resolve => queue.push(resolve))
  running++
  let released = false
  return () => {
    if (released) return
    released = true
    running--
    queue.shift()?.()
  }
}

const tempDirs = new Set<string>()
process.on('exit', () => {
  if (process.env.LAZARUS_TEST_KEEP_TEMP) return
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

/** Starts the action with the given inputs (names as in action.yml). */
export async function startAction(inputs: Record<string, string>, opts: StartActionOptions = {}): Promise<ActionProcess> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'lazarus-runner-'))
  tempDirs.add(base)
  const runnerTemp = opts.runnerTemp ?? base
  const { env, files } = await runnerEnvironment(inputs, base, runnerTemp, opts.env)

  const script = bundlePath()
  if (!existsSync(script)) throw new Error(`action bundle not found: ${script} (run \`npm run bundle\`)`)
  const release = await acquireSlot()
  const started = performance.now()
  const child = spawn(node24Path, [script], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const watchers = new Set<() => void>()
  child.stdout!.setEncoding('utf8').on('data', (data: string) => {
    stdout += data
    for (const watcher of [...watchers]) watcher()
  })
  child.stderr!.setEncoding('utf8').on('data', (data: string) => void (stderr += data))
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)

  const ended = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', error => {
      release()
      reject(error)
    })
    child.on('close', (exitCode, signal) => {
      release()
      clearTimeout(timer)
      for (const watcher of [...watchers]) watcher()
      resolve({ exitCode, signal })
    })
  })
  let done = false
  const finished = ended.then(async ({ exitCode, signal }): Promise<ActionResult> => {
    done = true
    const outputs = parseFileCommand(await readFile(files.GITHUB_OUTPUT, 'utf8'))
    const state = parseFileCommand(await readFile(files.GITHUB_STATE, 'utf8'))
    const summary = await readFile(files.GITHUB_STEP_SUMMARY, 'utf8')
    const result: ActionResult = {
      exitCode,
      signal,
      stdout,
      stderr,
      outputs,
      state,
      summary,
      runnerTemp,
      commandDir: path.dirname(files.GITHUB_OUTPUT),
      seconds: (performance.now() - started) / 1000
    }
    const reportPath = outputs['report-path']
    if (reportPath && existsSync(reportPath)) result.report = JSON.parse(readFileSync(reportPath, 'utf8'))
    return result
  })

  const waitForOutput = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stdout)) {
          cleanup()
          resolve()
        } else if (done || child.exitCode !== null || child.signalCode !== null) {
          cleanup()
          const output = `--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr}`
          reject(new Error(`the action ended before printing ${pattern}\n${output}`))
        }
      }
      const timeout = setTimeout(() => {
        cleanup()
        reject(new Error(`no ${pattern} in the action's output within ${timeoutMs} ms\n--- stdout ---\n${stdout.slice(-4000)}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timeout)
        watchers.delete(check)
      }
      watchers.add(check)
      check()
    })

  return { pid: child.pid!, runnerTemp, child, stdout: () => stdout, waitForOutput, finished }
}

/** Runs the action to its end. */
export async function runActionProcess(inputs: Record<string, string>, opts: StartActionOptions = {}): Promise<ActionResult> {
  return (await startAction(inputs, opts)).finished
}

/**
 * Runs the post step after `main`, as the runner does: same inputs, same RUNNER_TEMP, and each
 * piece of state main saved as the environment variable STATE_<name>.
 */
export async function runPostStep(
  inputs: Record<string, string>,
  main: Pick<ActionResult, 'state' | 'runnerTemp'>,
  opts: StartActionOptions = {}
): Promise<ActionResult> {
  const stateEnv = Object.fromEntries(Object.entries(main.state).map(([name, value]) => [`STATE_${name}`, value]))
  return runActionProcess(inputs, { runnerTemp: main.runnerTemp, ...opts, env: { ...stateEnv, ...opts.env } })
}

/** The `::error` annotations in a log: the runner turns each into one error on the run. */
export function errorAnnotations(stdout: string): string[] {
  return stdout.split('\n').filter(line => line.startsWith('::error'))
}

/** The run ids of the workspaces an action created in `runnerTemp` (its `lazarus-<id>` directories). */
export function workspaceRunIds(runnerTemp: string): string[] {
  if (!existsSync(runnerTemp)) return []
  return readdirSync(runnerTemp)
    .filter(name => name.startsWith('lazarus-'))
    .map(name => name.slice('lazarus-'.length))
}

/** Work directories (which hold dumps) still present under `runnerTemp`. */
export function leftoverWorkDirs(runnerTemp: string): string[] {
  return workspaceRunIds(runnerTemp)
    .map(id => path.join(runnerTemp, `lazarus-${id}`, 'work'))
    .filter(dir => existsSync(dir))
}

/** stdout and stderr as a person reads them: without the ::add-mask:: lines the runner consumes. */
export function visibleLog(run: Pick<ActionResult, 'stdout' | 'stderr'>): string {
  const stdout = run.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  return `${stdout}\n${run.stderr}`
}

export function explain(run: ActionResult): string {
  const how = `exit ${run.exitCode}${run.signal ? ` (${run.signal})` : ''} after ${run.seconds.toFixed(1)} s`
  return `${how}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}
