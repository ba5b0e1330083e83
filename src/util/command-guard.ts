import { Writable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'

/**
 * GitHub's runner reads every line a step prints, on stdout and stderr, and runs the line as a
 * workflow command when it starts with `::` after leading whitespace (`::set-output`,
 * `::add-mask::`, `::error::`, `::stop-commands::`, ...). Production's content reaches the log:
 * table and role names in Lazarus's own lines, and whatever psql and pg_dump print about the dump.
 * A table named `t⏎::set-output name=result::verified` must not forge an output, hide the log or
 * raise a false annotation. So every line that did not come from Lazarus's own command call has
 * its leading `::` broken, visibly.
 */
const COMMAND_LINE = /^(\s*)::/
const NEUTRAL_PREFIX = '» '

/** One line, made harmless: a line the runner would read as a command gets a visible prefix. */
function neutralizeLine(line: string): string {
  return line.replace(COMMAND_LINE, `$1${NEUTRAL_PREFIX}::`)
}

/**
 * Breaks every workflow command in `text`. With `trustFirstLine`, the first line is left as it
 * is: @actions/core writes each command it issues as one write of one line (its values are
 * %-escaped, so never several lines), while untrusted text only ever follows Lazarus's own words.
 */
export function neutralizeCommands(text: string, trustFirstLine = false): string {
  const lines = text.split(/(\r\n|\r|\n)/)
  // split with a capture group keeps the separators at odd indexes: only even ones are lines.
  for (let i = trustFirstLine ? 2 : 0; i < lines.length; i += 2) lines[i] = neutralizeLine(lines[i]!)
  return lines.join('')
}

let installed = false

/**
 * Wraps process.stdout and process.stderr so that only the first line of each write may be a
 * workflow command. Installed once, at the action's start, before anything is printed.
 */
export function guardWorkflowCommands(): void {
  if (installed) return
  installed = true
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string') return write(neutralizeCommands(chunk, true), ...rest)
      if (chunk instanceof Uint8Array) return write(neutralizeCommands(Buffer.from(chunk).toString('utf8'), true), ...rest)
      return write(chunk, ...rest)
    }) as typeof stream.write
  }
}

/**
 * A stream for a client program's output (psql, pg_dump, sed, bash): all of it is untrusted, its
 * first line included, and it arrives in chunks that may split a line anywhere, so lines are
 * joined before they are judged. A partial line is held only until its end arrives (or the
 * program ends), never more than `maxHeld` characters.
 */
export function untrustedOutput(target: NodeJS.WritableStream, maxHeld = 64 * 1024): Writable {
  const decoder = new StringDecoder('utf8')
  let held = ''
  // A line held back because it was too long has started; its rest is not at a line start.
  let midLine = false
  const emit = (text: string) => {
    if (text) target.write(midLine ? neutralizeCommands(text, true) : neutralizeCommands(text))
  }
  return new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      held += typeof chunk === 'string' ? chunk : decoder.write(chunk)
      const end = Math.max(held.lastIndexOf('\n'), held.lastIndexOf('\r'))
      if (end >= 0) {
        emit(held.slice(0, end + 1))
        held = held.slice(end + 1)
        midLine = false
      }
      if (held.length > maxHeld) {
        emit(held)
        held = ''
        midLine = true
      }
      done()
    },
    final(done) {
      emit(held + decoder.end())
      held = ''
      done()
    }
  })
}
