/**
 * A once-only action (`markHandled`): the first call runs `fn`, later calls
 * wait for that run; a run that failed may be tried again.
 */
export function once (fn: () => Promise<void>): () => Promise<void> {
  let run: Promise<void> | undefined
  return async () => {
    run ??= fn().catch((err: unknown) => {
      run = undefined
      throw err
    })
    await run
  }
}
