import { request as httpRequest } from 'node:http';
import { expect, test } from '@playwright/test';

// npm start's server (vite preview with scripts/vite-local-assets.ts), as the browser tests run
// it: bad requests get client errors, never a 500, and only its own Host names are answered.

const port = Number(process.env.PW_PORT ?? 4173);

/** A raw request (fetch would neither send a foreign Host nor a malformed path as given). */
function get(path: string, host = `127.0.0.1:${port}`) {
  return new Promise<number>((done, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

test('preview server: 400 for a malformed URL escape (was 500), 404 for a missing file', async () => {
  for (const path of ['/demo-videos/%E0%A4%A', '/models/%E0%A4%A', '/demo-videos/%']) {
    expect(await get(path), path).toBe(400);
  }
  expect(await get('/demo-videos/no-such-clip.mp4')).toBe(404);
  expect(await get('/demo-videos/index.json')).toBe(200);
});

test('preview server: 403 for a foreign Host (DNS rebinding), also on the local folders', async () => {
  for (const path of ['/', '/demo-videos/index.json', '/models/tiny-random-qwen2-vl/config.json']) {
    expect(await get(path, 'evil.example'), path).toBe(403);
    expect(await get(path), path).toBe(200);
  }
});
