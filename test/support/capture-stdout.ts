/**
 * Captures what @actions/core writes (annotations go to stdout as ::notice:: commands, as text).
 * The test runner reports through the same stdout in binary: that passes through untouched.
 */
export async function capturingStdout<T>(action: () => Promise<T>): Promise<{ value: T; output: string }> {
  const write = process.stdout.write.bind(process.stdout)
  let output = ''
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return write(chunk, ...rest)
    output += chunk
    return true
  }) as typeof process.stdout.write
  try {
    return { value: await action(), output }
  } finally {
    process.stdout.write = write
  }
}
