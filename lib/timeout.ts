/**
 * Whether `promise` settled (either way) within `ms`. Shutdown steps race their work against
 * it so that a dead Redis or a stuck handler cannot hold `app.close()` forever.
 */
export async function settledWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => { timer = setTimeout(resolve, ms, false) })
  const settled = await Promise.race([promise.then(() => true, () => true), late])
  clearTimeout(timer)
  return settled
}
