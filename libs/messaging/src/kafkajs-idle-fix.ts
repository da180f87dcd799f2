import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 keeps every broker connection's request queue on a 1 ms timer for as long as the
 * process lives (tulios/kafkajs#1556; the fix, #1667, was never released). Once a request has gone
 * through the queue, `checkPendingRequests` asks `scheduleCheckPendingRequests` for a check, which
 * with nothing pending and no throttle schedules one `throttledUntil - now` ms ahead: a negative
 * delay, so 1 ms, and that check schedules the next. In bench:match an idle gateway woke about
 * 700 times a second, and four services each spent 5–7% of a core on nothing (decision 0014).
 *
 * The replacement schedules a check only when something is pending, which is what the original's
 * own comment says it is for: a throttled queue is checked when the throttle ends, an overloaded
 * one when an in-flight request completes (kafkajs does that itself), and an empty one never.
 */
interface RequestQueuePrototype {
  scheduleCheckPendingRequests(this: RequestQueueState): void;
  checkPendingRequests(this: RequestQueueState): void;
}

interface RequestQueueState {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

/** kafkajs's own interval for a queue that waits on in-flight requests (requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId !== null && this.throttleCheckTimeoutId !== undefined) return;
  if (this.pending.length === 0) return;
  const throttled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttled > 0 ? throttled : CHECK_PENDING_REQUESTS_INTERVAL,
  );
}

/** The request queue's prototype, for the patch and its test. */
export function kafkaRequestQueuePrototype(): RequestQueuePrototype {
  const require = createRequire(import.meta.url);
  return (require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueuePrototype }).prototype;
}

/**
 * Replaces the method when it is still the one with the loop (recognised by its source), and
 * says whether it did. A kafkajs that changed it is left alone.
 */
export function patchKafkaRequestQueue(): boolean {
  const proto = kafkaRequestQueuePrototype();
  if (proto.scheduleCheckPendingRequests === scheduleCheckPendingRequests) return true;
  const source = proto.scheduleCheckPendingRequests.toString();
  if (!source.includes('if (this.pending.length > 0)') || !source.includes('}, scheduleAt)')) return false;
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
}

patchKafkaRequestQueue();
