/** A binary min-heap of (instant, id): the engine's one timer for wakes and expiries. */
export class TimerHeap {
  private readonly at: number[] = [];
  private readonly ids: string[] = [];

  get size(): number {
    return this.at.length;
  }

  push(at: number, id: string): void {
    this.at.push(at);
    this.ids.push(id);
    let i = this.at.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.at[parent] as number) <= at) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  peek(): number | undefined {
    return this.at[0];
  }

  /** Removes and returns the id due first, when it is due at or before `now`. */
  popDue(now: number): string | undefined {
    if (this.at.length === 0 || (this.at[0] as number) > now) return undefined;
    const id = this.ids[0] as string;
    const lastAt = this.at.pop() as number;
    const lastId = this.ids.pop() as string;
    if (this.at.length > 0) {
      this.at[0] = lastAt;
      this.ids[0] = lastId;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.at.length && (this.at[l] as number) < (this.at[m] as number)) m = l;
        if (r < this.at.length && (this.at[r] as number) < (this.at[m] as number)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return id;
  }

  clear(): void {
    this.at.length = 0;
    this.ids.length = 0;
  }

  private swap(a: number, b: number): void {
    [this.at[a], this.at[b]] = [this.at[b] as number, this.at[a] as number];
    [this.ids[a], this.ids[b]] = [this.ids[b] as string, this.ids[a] as string];
  }
}
