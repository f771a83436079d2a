import { useEffect, useState } from 'react';
import { useAppStore } from '../store/index';

/** Dark theme on or off; remembered; until first pressed it follows the system setting. */
export function ThemeToggle() {
  const choice = useAppStore((s) => s.themeChoice);
  const theme = useAppStore((s) => s.theme);
  const setTheme = useAppStore((s) => s.setTheme);
  // Re-render when the system theme changes while no choice was made.
  const [, setTick] = useState(0);
  useEffect(() => {
    const q = matchMedia('(prefers-color-scheme: dark)');
    const on = () => setTick((t) => t + 1);
    q.addEventListener('change', on);
    return () => q.removeEventListener('change', on);
  }, []);
  const dark = (choice ?? theme()) === 'dark';
  return (
    <button
      type="button"
      className="theme-toggle"
      aria-pressed={dark}
      title={choice ? 'Remembered in this browser' : 'Following the system setting'}
      onClick={() => setTheme(dark ? 'light' : 'dark')}
    >
      <span aria-hidden="true">{dark ? '☾' : '☀'}</span> Dark theme
    </button>
  );
}
