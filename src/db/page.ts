/** One page of a list: `limit` rows from `offset`, and how many rows the whole list has. */
export interface PageQuery {
  limit: number
  offset: number
}

export interface Page<T> {
  total: number
  items: T[]
}

/** A page from its count and its rows, read at once. */
export async function page<T> (total: Promise<number>, items: Promise<T[]>): Promise<Page<T>> {
  const [count, rows] = await Promise.all([total, items])
  return { total: count, items: rows }
}
