/** Promise.all that waits for every statement to end before throwing the first failure (none is left running). */
export async function settleAll<T extends readonly unknown[]>(all: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const out = await Promise.allSettled(all);
  const failed = out.find((o) => o.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return out.map((o) => (o as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
