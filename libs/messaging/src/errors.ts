/**
 * Why a message can never succeed. The code travels to the DLQ in the `x-error-code` header;
 * operators filter on it, so the set is closed.
 */
export type DlqReason =
  | 'malformed' // not JSON, or not an object
  | 'invalid' // fails the topic's schema
  | 'too-large' // over Limits.maxMessageBytes
  | 'unauthenticated' // unsigned, unknown or revoked key, bad signature, or claims another's identity
  | 'rejected' // valid, authenticated, but refused by a business rule
  | 'handler-failed'; // the handler failed Limits.handlerAttempts times for a non-transient reason

/** Thrown by a handler for a message that can never succeed; the message goes to the DLQ. */
export class PermanentMessageError extends Error {
  constructor(
    readonly reason: DlqReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'PermanentMessageError';
  }
}
