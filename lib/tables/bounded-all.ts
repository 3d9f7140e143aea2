/**
 * `task` over `items` with at most `concurrency` running at once, results in
 * input order: the batches (BatchGetItem, BatchWriteItem), the index applier
 * and backfill use it to bound the engine requests one call has in flight.
 * Every started task is awaited before the first failure is thrown, so no
 * work keeps running behind a rejected call.
 */
export async function boundedAll<T, R>(items: readonly T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: unknown;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const at = next++;
      try {
        results[at] = await task(items[at]!);
      } catch (error) {
        if (!failed) failure = error;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed) throw failure;
  return results;
}
