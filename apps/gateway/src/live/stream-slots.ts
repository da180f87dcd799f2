import type { MessageEvent } from '@nestjs/common';
import { interval, map, type Observable } from 'rxjs';
import { ProblemException } from '#runtime';

/** Open streams of one kind one gateway instance serves; past it, clients get 503 and retry elsewhere. */
const MAX_STREAMS = 1_000;
/** A comment-like event this often, so proxies keep an idle stream open. */
const KEEPALIVE_MS = 15_000;

export const keepalive$: Observable<MessageEvent> = interval(KEEPALIVE_MS).pipe(map(() => ({ type: 'keepalive', data: {} }) as MessageEvent));

/** Counts one kind of stream on this instance: `take` a slot for a new client, call what it returns when the client leaves. */
export class StreamSlots {
  private open = 0;

  take(): () => void {
    if (this.open >= MAX_STREAMS) throw new ProblemException({ title: 'too many streams', status: 503, detail: `this instance serves ${MAX_STREAMS} streams at most` });
    this.open += 1;
    let released = false;
    return () => {
      if (!released) this.open -= 1;
      released = true;
    };
  }
}
