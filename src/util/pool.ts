/**
 * Runs `work` over `items` with one worker per element of `workers` (each a session of its own),
 * so at most `workers.length` items are in flight. Results keep the items' order.
 */
export async function mapPool<W, I, O>(workers: W[], items: I[], work: (worker: W, item: I) => Promise<O>): Promise<O[]> {
  const results = new Array<O>(items.length)
  let next = 0
  await Promise.all(
    workers.map(async worker => {
      while (next < items.length) {
        const index = next++
        results[index] = await work(worker, items[index])
      }
    })
  )
  return results
}
