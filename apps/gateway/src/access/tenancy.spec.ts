import { ProblemException, type Principal } from '#runtime';
import { owns, tenantFilter } from './tenancy.js';

const as = (role: Principal['role'], id = 'acme'): Principal => ({ id, role, keyId: 'k' });
const status = (fn: () => unknown) => {
  try {
    fn();
    return 200;
  } catch (e) {
    return e instanceof ProblemException ? e.problem.status : 500;
  }
};

describe('tenant scoping', () => {
  it('narrows a customer or provider to itself, whatever it asks for', () => {
    expect(tenantFilter(as('customer'), undefined, 'customer')).toBe('acme');
    expect(tenantFilter(as('customer'), 'acme', 'customer')).toBe('acme');
    expect(tenantFilter(as('provider', 'gpu-east'), undefined, 'provider')).toBe('gpu-east');
  });

  it("answers another tenant's records as not found, and another role's as forbidden", () => {
    expect(status(() => tenantFilter(as('customer'), 'globex', 'customer'))).toBe(404);
    expect(status(() => tenantFilter(as('provider'), 'other', 'provider'))).toBe(404);
    expect(status(() => tenantFilter(as('provider'), undefined, 'customer'))).toBe(403);
  });

  it('lets finance and admin read what they ask for', () => {
    expect(tenantFilter(as('finance', 'f'), 'globex', 'customer')).toBe('globex');
    expect(tenantFilter(as('admin', 'a'), undefined, 'provider')).toBeUndefined();
    expect(owns(as('finance', 'f'), 'globex')).toBe(true);
    expect(owns(as('customer'), 'globex')).toBe(false);
    expect(owns(as('customer'), 'acme')).toBe(true);
  });
});
