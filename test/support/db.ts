import pg from 'pg';

/** One short-lived connection per query: survives the database restarting under a test. */
export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: process.env['DATABASE_URL'], connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export async function count(text: string, params: unknown[] = []): Promise<number> {
  const rows = await sql<{ n: string }>(text, params);
  return Number(rows[0]?.n ?? 0);
}

/** Ticks stored for a provider (each test uses a provider of its own). */
export function ticksOf(provider: string): Promise<number> {
  return count('SELECT count(*) AS n FROM market.spot_price_ticks WHERE provider_id = $1', [provider]);
}
