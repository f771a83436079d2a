// The colour theme: light or dark as the user last chose (localStorage), else the system's
// (prefers-color-scheme, which styles.css follows while <html> has no data-theme).
import type { StateCreator } from 'zustand';

export type Theme = 'light' | 'dark';
const KEY = 'seedbench-theme';

function stored(): Theme | null {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

function system(): Theme {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches
    ? 'dark'
    : 'light';
}

function apply(theme: Theme | null): void {
  if (typeof document === 'undefined') return;
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

export interface ThemeSlice {
  /** The user's choice; null follows the system. */
  themeChoice: Theme | null;
  /** The theme shown now. */
  theme: () => Theme;
  setTheme: (t: Theme) => void;
}

export const createThemeSlice: StateCreator<ThemeSlice> = (set, get) => {
  const choice = stored();
  apply(choice);
  return {
    themeChoice: choice,
    theme: () => get().themeChoice ?? system(),
    setTheme(t) {
      try {
        localStorage.setItem(KEY, t);
      } catch {
        /* private mode: the choice lasts this page only */
      }
      apply(t);
      set({ themeChoice: t });
    },
  };
};
