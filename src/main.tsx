import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { useAppStore } from './store/index';
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

// The service worker keeps the app shell, assets and benchmark sets for offline use and makes a
// static host cross-origin isolated (production builds only: the dev server serves fresh modules
// and sends the headers itself).
void useAppStore.getState().startHost(import.meta.env.PROD);
