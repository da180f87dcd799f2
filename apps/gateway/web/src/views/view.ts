import type { Me, Role } from '../api.js';

/** One screen of the dashboard: which roles see it, and how it fills its container and keeps it live. */
export interface View {
  readonly id: string;
  readonly label: string;
  readonly roles: readonly Role[];
  /** Draws into `root` and keeps it current until `signal` aborts (the user leaves the view). */
  mount(root: HTMLElement, me: Me, signal: AbortSignal): void;
}
