/**
 * Run in the page (as a string: the test program has no DOM types): every element with visible
 * text whose contrast with its background is under WCAG AA (4.5:1, or 3:1 for large text), and
 * every form control without an accessible name. Both lists should be empty.
 */
export const ACCESSIBILITY_PROBLEMS = `(() => {
  const rgba = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return [0, 0, 0, 0];
    const [r, g, b, a] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [r, g, b, a === undefined ? 1 : a];
  };
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  const problems = [];
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(' ').trim();
    if (text === '') continue;
    const s = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (s.visibility === 'hidden' || s.display === 'none' || box.width === 0 || box.left < -100) continue;
    const fg = luminance(rgba(s.color));
    const bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push(el.tagName.toLowerCase() + ' "' + text.slice(0, 30) + '": ' + ratio.toFixed(2) + ':1');
  }
  for (const el of document.querySelectorAll('input, select, textarea, button')) {
    const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim() !== '');
    if (!named) problems.push(el.tagName.toLowerCase() + '#' + el.id + ': no accessible name');
  }
  return problems;
})()`;
