import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real OpenAI-compatible HTTP server with scripted answers, for the dispatcher's tests. Each
 * request's body names its script in `metadata.script` and its identity in `metadata.key`:
 *   ok          200 with `usage` (tokens drawn from the key, so a repeat answers the same)
 *   429-once    429 with Retry-After: 1 on the first attempt, then ok
 *   500-once    500 on the first attempt, then ok
 *   timeout-once  no answer for 3 s on the first attempt, then ok
 *   malformed-once  200 with a body that is not JSON on the first attempt, then ok
 *   bad         400 with an OpenAI-style error, every time
 *   slow        ok after 150 ms
 */
export class ScriptedOpenAi {
  private server: Server | undefined;
  /** Attempts seen per key. */
  readonly attempts = new Map<string, number>();
  /** Every 200 answered with usage, per key (the last one). */
  readonly answered = new Map<string, { input: number; output: number }>();
  readonly authorizations = new Set<string>();
  okAnswers = 0;

  static usageOf(key: string): { input: number; output: number } {
    let h = 0;
    for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return { input: 10 + (h % 90), output: 20 + ((h >>> 8) % 200) };
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/v1`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
      return;
    }
    this.authorizations.add(req.headers.authorization ?? '');
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; metadata: { script: string; key: string } };
    const { script, key } = body.metadata;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const first = attempt === 1;
    if (script === 'bad') {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'messages: required', type: 'invalid_request_error' } }));
      return;
    }
    if (script === '429-once' && first) {
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'slow down' } }));
      return;
    }
    if (script === '500-once' && first) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'upstream fell over' } }));
      return;
    }
    if (script === 'timeout-once' && first) {
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      res.destroy();
      return;
    }
    if (script === 'malformed-once' && first) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "x", "choices": [');
      return;
    }
    if (script === 'slow') await new Promise((resolve) => setTimeout(resolve, 150));
    const usage = ScriptedOpenAi.usageOf(key);
    this.answered.set(key, usage);
    this.okAnswers += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `chatcmpl-${key}`,
        object: 'chat.completion',
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: `answer for ${key}` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
      }),
    );
  }
}
