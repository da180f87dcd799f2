import { z } from 'zod';

/** Bounds on every free-form field, so no message can make a consumer allocate without limit. */
export const MAX_ID_LENGTH = 128;
export const MAX_DECIMAL_LENGTH = 40;

/** Identifiers: providers, offers, zones, regions. Safe in Kafka keys, URLs and log lines. */
export const identifier = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-:/]*$/, 'letters, digits and . _ - : / only, starting with a letter or digit');

/**
 * Money and rates travel as decimal strings and are parsed exactly into bigint atomic units:
 * a float never touches a price. Signed, because energy tariffs go negative.
 */
export const decimalString = z
  .string()
  .max(MAX_DECIMAL_LENGTH)
  .regex(/^-?(0|[1-9]\d*)(\.\d+)?$/, 'a decimal number as a string, such as "0.1432" or "-1.05"');

export const nonNegativeDecimalString = decimalString.refine((v) => !v.startsWith('-'), 'must not be negative');

/** ISO 4217 code (upper case) or GBX for British pence, as tariff files quote them. */
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code such as "USD"');

/** Instants are ISO-8601 strings with an explicit offset; the engine works in UTC. */
export const isoInstant = z.iso.datetime({ offset: true });

/** Per-key sequence numbers: strictly increasing per producer key, safe as a JS number. */
export const sequenceNumber = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** `gpu:<class>` (GPU-hours) or `model:<id>` (millions of tokens). */
export const instrument = z
  .string()
  .max(MAX_ID_LENGTH)
  .regex(/^(gpu|model):[A-Za-z0-9][A-Za-z0-9._\-/]*$/, 'an instrument such as "gpu:h100" or "model:llama-3.1-70b"');
