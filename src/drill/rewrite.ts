import { rewriteLines } from '../util/dump-lines.js'

/**
 * Streams a dump file through a line rewriter into a new private file (util/dump-lines.ts: any
 * server encoding passes through unchanged; the rewriters only look at ASCII).
 */
export async function rewriteDump(
  inputFile: string,
  outputFile: string,
  rewriter: { push(line: string): string[] }
): Promise<void> {
  await rewriteLines(inputFile, outputFile, line => rewriter.push(line))
}
