import { useEffect } from 'react';

/**
 * The parts of the page that scroll on their own (overflow: auto in the stylesheets): long outputs
 * and prompts, the filmstrip, wide tables on a narrow screen, lists with a max height. Add a class
 * here when a sheet gives one overflow: auto.
 */
export const SCROLL_AREAS = [
  '.output-text',
  '.prompt-text',
  '.live-output',
  '.filmstrip-row',
  '.results-table',
  '.chart-scroll',
  '.question-list',
  '.file-progress',
].join(', ');

function overflows(el: HTMLElement): boolean {
  return el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
}

/**
 * Keyboard users scroll an area by focusing it: each of SCROLL_AREAS that overflows now gets
 * tabindex=0 (and loses it when it no longer does, so that it is no useless tab stop), unless it
 * has focusable content of its own. Checked once per frame after the page or its size changed.
 */
export function useKeyboardScrollAreas(root: () => HTMLElement | null): void {
  useEffect(() => {
    const el = root();
    if (!el) return;
    let frame = 0;
    const check = () => {
      frame = 0;
      for (const area of el.querySelectorAll<HTMLElement>(SCROLL_AREAS)) {
        const inner = area.querySelector('button, a[href], input, select, textarea, [tabindex]');
        if (overflows(area) && !inner) area.tabIndex = 0;
        else if (area.getAttribute('tabindex') === '0') area.removeAttribute('tabindex');
      }
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(check);
    };
    const mutations = new MutationObserver(schedule);
    mutations.observe(el, { subtree: true, childList: true, characterData: true });
    const sizes = new ResizeObserver(schedule);
    sizes.observe(el);
    window.addEventListener('resize', schedule);
    schedule();
    return () => {
      mutations.disconnect();
      sizes.disconnect();
      window.removeEventListener('resize', schedule);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [root]);
}
