import type uPlotType from 'uplot';
import { h } from './dom.js';

/** uPlot, loaded by index.html from the installed package (no CDN). */
declare const uPlot: typeof uPlotType;

export interface TimeSeries {
  readonly label: string;
  readonly color: string;
  /** Draw as steps (tariff slots hold their price until the next one). */
  readonly stepped?: boolean;
}

/**
 * A time chart that zooms: drag across it to zoom into a range, double-click to zoom out. Its
 * figure caption says what it shows, and the latest values are also given as text for those who
 * do not read charts.
 */
export class TimeChart {
  private plot: uPlotType | undefined;
  private readonly figure: HTMLElement;
  private readonly summary: HTMLParagraphElement;
  private readonly canvas: HTMLDivElement;
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(
    private readonly caption: string,
    private readonly series: readonly TimeSeries[],
    private readonly unit: string,
  ) {
    this.canvas = h('div', { class: 'chart-canvas', 'aria-hidden': 'true' });
    this.summary = h('p', { class: 'chart-summary', 'aria-live': 'polite' });
    this.figure = h('figure', { class: 'chart' }, h('figcaption', {}, `${caption} (drag to zoom, double-click to reset)`), this.canvas, this.summary);
    this.resize.observe(this.canvas);
  }

  get element(): HTMLElement {
    return this.figure;
  }

  /** Sets the data: x in epoch seconds, one array of values (or nulls) per series. */
  set(x: readonly number[], ys: readonly (readonly (number | null)[])[], summary: string): void {
    const data = [x, ...ys] as unknown as uPlotType.AlignedData;
    this.summary.textContent = summary;
    if (this.plot === undefined) {
      this.plot = new uPlot(
        {
          width: Math.max(280, this.canvas.clientWidth),
          height: 220,
          scales: { x: { time: true } },
          cursor: { drag: { x: true, y: false } },
          axes: [{ stroke: '#3b4252', grid: { stroke: '#e5e9f0' } }, { stroke: '#3b4252', grid: { stroke: '#e5e9f0' }, label: this.unit, size: 64 }],
          series: [
            {},
            ...this.series.map((s) => ({
              label: s.label,
              stroke: s.color,
              width: 2,
              // A gap in the data (nothing in force, or the page was closed) stays a gap.
              spanGaps: false,
              ...(s.stepped === true ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}),
            })),
          ],
        },
        data,
        this.canvas,
      );
    } else {
      this.plot.setData(data);
    }
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
  }

  private fit(): void {
    if (this.plot !== undefined && this.canvas.clientWidth > 0) this.plot.setSize({ width: this.canvas.clientWidth, height: 220 });
  }
}
