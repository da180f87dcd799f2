import { get } from '../api.js';
import { h, panel, replace, table } from '../dom.js';
import { dateTime } from '../format.js';
import type { View } from './view.js';

interface Principal {
  id: string;
  role: string;
  name: string;
  disabledAt: string | null;
}
interface AuditEntry {
  id: string;
  at: string;
  principal: string;
  action: string;
  path: string;
  ip: string;
}

/** Admins: who may call the market, and what privileged actions were taken. */
export const adminView: View = {
  id: 'admin',
  label: 'Access',
  roles: ['admin'],
  mount(root, _me, signal) {
    const principals = h('div', { id: 'principals' });
    const audit = h('div', { id: 'audit' });
    replace(root, h('div', { class: 'grid' }, panel('principals-panel', 'Principals', principals), panel('audit-panel', 'Audit log', audit)));
    const load = async () => {
      const [p, a] = await Promise.all([get<{ items: Principal[] }>('/v1/admin/principals?limit=200'), get<{ items: AuditEntry[] }>('/v1/admin/audit?limit=50')]);
      replace(
        principals,
        table(
          'Principals',
          [
            { label: 'Id', cell: (x: Principal) => x.id },
            { label: 'Role', cell: (x) => x.role },
            { label: 'Name', cell: (x) => x.name },
            { label: 'State', cell: (x) => (x.disabledAt === null ? 'active' : `disabled ${dateTime(x.disabledAt)}`) },
          ],
          p.items,
          (x) => x.id,
        ),
      );
      replace(
        audit,
        table(
          'Latest privileged actions',
          [
            { label: 'When', cell: (x: AuditEntry) => dateTime(x.at) },
            { label: 'Who', cell: (x) => x.principal },
            { label: 'Action', cell: (x) => x.action },
            { label: 'Path', cell: (x) => h('code', {}, x.path) },
            { label: 'From', cell: (x) => x.ip },
          ],
          a.items,
          (x) => x.id,
        ),
      );
    };
    void load().catch(() => undefined);
    const timer = setInterval(() => void load().catch(() => undefined), 10_000);
    signal.addEventListener('abort', () => clearInterval(timer));
  },
};
