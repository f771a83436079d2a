import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/index';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
// Headless runs (npm run eval / bench) drive the store through window.seedbenchAutomation.
if (new URLSearchParams(window.location.search).has('automation'))
  void import('./store/automation');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

// Offline: the service worker keeps the app shell and benchmark sets (production builds only, so
// the dev server always serves fresh modules).
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`).catch((e: unknown) => {
      console.warn('service worker not registered:', e);
    });
  });
}
