import { ProblemException, type Principal } from '#runtime';

/**
 * The tenant a read is narrowed to. A customer or a provider reads only its own: naming another
 * tenant answers 404, exactly as a tenant that does not exist would. Finance and admin read what
 * they ask for (`undefined`: everyone).
 */
export function tenantFilter(principal: Principal, asked: string | undefined, tenant: 'customer' | 'provider'): string | undefined {
  if (principal.role === 'finance' || principal.role === 'admin') return asked;
  if (principal.role !== tenant) throw new ProblemException({ title: 'forbidden', status: 403, detail: `a ${principal.role} key cannot read ${tenant} records` });
  if (asked !== undefined && asked !== principal.id) throw new ProblemException({ title: 'not found', status: 404, detail: `no ${tenant} ${asked}` });
  return principal.id;
}

/** Whether a principal may see an object owned by `owner`: its own, or any for finance and admin. */
export function owns(principal: Principal, owner: string): boolean {
  return principal.role === 'finance' || principal.role === 'admin' || principal.id === owner;
}
