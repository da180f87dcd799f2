/** A few DOM helpers: elements built from data, text always set as text (never parsed as HTML). */

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

/** A table with a caption, header cells scoped to their columns, and one row per item. */
export function table<T>(caption: string, columns: readonly { readonly label: string; readonly numeric?: boolean; readonly cell: (row: T) => Child }[], rows: readonly T[], rowKey?: (row: T) => string): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col', class: c.numeric === true ? 'num' : undefined }, c.label)))),
    h(
      'tbody',
      {},
      ...(rows.length === 0
        ? [h('tr', {}, h('td', { colspan: String(columns.length), class: 'empty' }, 'Nothing yet.'))]
        : rows.map((r) => h('tr', { 'data-key': rowKey?.(r) }, ...columns.map((c) => h('td', { class: c.numeric === true ? 'num' : undefined }, c.cell(r)))))),
    ),
  );
}

export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'info' = 'info'): HTMLSpanElement {
  return h('span', { class: `badge ${tone}` }, text);
}

/** A labelled section of a view; `id` lets tests and links find it. */
export function panel(id: string, title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...children);
}

export function replace(target: Element, ...children: Child[]): void {
  target.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/** Runs `fn` at most once per `ms`, and once more after the last call (live updates arrive in bursts). */
export function throttle(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = 0;
  return () => {
    if (timer !== undefined) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      last = Date.now();
      fn();
    }, wait);
  };
}
