import { z } from 'zod';
import { identifier, nonNegativeDecimalString } from '#contracts';
import { ROLES } from '#runtime';

export const principalIdParam = identifier;
export const keyIdParam = z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'a key id');

export const createPrincipalBody = z
  .object({
    id: identifier.describe("The principal's id, which is its tenant: a customer's account id, a provider's id."),
    role: z.enum(ROLES),
    name: z.string().min(1).max(200),
    keyLabel: z.string().min(1).max(100).default('first key'),
  })
  .strict();

export const issueKeyBody = z.object({ label: z.string().min(1).max(100) }).strict();

/** How long the key being rotated keeps working, so clients switch without downtime (at most a week). */
export const rotateBody = z.object({ graceSeconds: z.number().int().min(0).max(7 * 86_400).default(0) }).strict();

export const principalListQuery = z
  .object({
    role: z.enum(ROLES).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const auditQuery = z
  .object({
    principal: identifier.optional(),
    action: z.string().max(100).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const creditLimitBody = z.object({ limit: nonNegativeDecimalString.describe('USD') }).strict();
export const moneyBody = z
  .object({
    amount: nonNegativeDecimalString.describe('USD, more than 0'),
    reference: z.string().min(1).max(200).describe('Your reference (a wire id): the same reference posts once.'),
  })
  .strict();
export const noQuery = z.object({}).strict();
export const invoiceIdParam = z.string().min(1).max(300).regex(/^inv:/, 'an invoice id, such as inv:acme:2026-11');
