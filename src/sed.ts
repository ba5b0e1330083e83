import * as io from '@actions/io'

/**
 * The only module that knows how sed is run. Sanitizing happens inside the dump-to-restore
 * stream (see pg-tools.ts), so sed runs as a filter there: this gives its argv.
 */
export async function sedFilter(programFile: string): Promise<string[]> {
  const sed = await io.which('sed', true)
  return [sed, '-n', '-E', '-f', programFile]
}
