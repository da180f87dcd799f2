/** The gateway's API as the dashboard calls it: the signed-in key on every request, problems as errors. */

const KEY_STORAGE = 'spotgrid.apiKey';

export type Role = 'customer' | 'provider' | 'finance' | 'admin';

export interface Me {
  readonly id: string;
  readonly role: Role;
  readonly name: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${title}: ${detail}`);
  }
}

/** The key lives in this tab's session only: closing the tab signs out. */
export const session = {
  get key(): string | null {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  set key(value: string | null) {
    if (value === null) sessionStorage.removeItem(KEY_STORAGE);
    else sessionStorage.setItem(KEY_STORAGE, value);
  },
};

function headers(): Record<string, string> {
  const key = session.key;
  return key === null ? {} : { authorization: `Bearer ${key}` };
}

export async function get<T>(path: string): Promise<T> {
  return send<T>('GET', path);
}

/** A request with a JSON body (and extra headers such as Idempotency-Key); problems become ApiErrors. */
export async function send<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...headers(), ...extra, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return answer<T>(res);
}

async function answer<T>(res: Response): Promise<T> {
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const p = (body ?? {}) as { title?: string; detail?: string };
    throw new ApiError(res.status, p.title ?? res.statusText, p.detail ?? '');
  }
  return body as T;
}

/**
 * A server-sent event stream read with fetch (EventSource cannot send the Authorization
 * header): calls `onEvent` for each event, and reconnects after a drop until `signal` aborts.
 */
export function stream(path: string, onEvent: (type: string, data: unknown) => void, signal: AbortSignal): void {
  const connect = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        const res = await fetch(path, { headers: headers(), signal });
        if (!res.ok || res.body === null) throw new ApiError(res.status, 'stream refused', res.statusText);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const raw = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let type = 'message';
            const data: string[] = [];
            for (const line of raw.split('\n')) {
              if (line.startsWith('event: ')) type = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0) onEvent(type, JSON.parse(data.join('\n')) as unknown);
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return;
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  };
  void connect();
}
