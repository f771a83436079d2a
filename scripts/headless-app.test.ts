import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Served } from './headless-app';

// The CLI's local server (npm run eval), on real sockets and a real folder with bad links.
const tmp = mkdtempSync(join(tmpdir(), 'seedbench-serve-'));
const dist = join(tmp, 'dist');
const videos = join(tmp, 'videos');
mkdirSync(dist);
mkdirSync(join(videos, 'videos/Ego4D'), { recursive: true });
writeFileSync(join(dist, 'index.html'), '<!doctype html>app');
writeFileSync(join(videos, 'videos/Ego4D/a.mp4'), 'clip');
symlinkSync(join(videos, 'nowhere.mp4'), join(videos, 'videos/Ego4D/dangling.mp4'));
symlinkSync('loop.mp4', join(videos, 'loop.mp4')); // a link to itself: ELOOP
symlinkSync('..', join(videos, 'videos/up')); // a folder loop
symlinkSync(join(videos, 'videos/Ego4D/a.mp4'), join(videos, 'linked.mp4')); // fine: followed

let served: Served;
const logged: string[] = [];
beforeAll(async () => {
  served = await serve({
    dist,
    videosDir: videos,
    port: 0, // any free port
    portEnd: 0,
    log: (m) => logged.push(m),
  });
});
afterAll(() => served.close());

function get(path: string, host?: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(served.origin);
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('npm run eval server', () => {
  it('answers only its own Host names (DNS rebinding)', async () => {
    const { port } = new URL(served.origin);
    expect((await get('/')).status).toBe(200);
    expect((await get('/', `localhost:${port}`)).status).toBe(200);
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`]) {
      expect((await get('/cli-videos/index.json', host)).status, host).toBe(403);
      expect((await get('/cli-videos/videos/Ego4D/a.mp4', host)).status, host).toBe(403);
    }
  });

  it('lists a folder with a dangling link and link loops, naming what it left out', async () => {
    const r = await get('/cli-videos/index.json');
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { files: string[] }).files).toEqual([
      'linked.mp4',
      'videos/Ego4D/a.mp4',
    ]);
    expect(logged).toEqual([
      `${join(videos, 'loop.mp4')}: symbolic link loop -> loop.mp4; left out`,
      `${join(videos, 'videos/Ego4D/dangling.mp4')}: dangling symbolic link -> ${join(videos, 'nowhere.mp4')}; left out`,
      `${join(videos, 'videos/up')}: symbolic link loop (leads back to ${videos}); left out`,
    ]);
    expect((await get('/cli-videos/linked.mp4')).body).toBe('clip');
    expect((await get('/cli-videos/videos/Ego4D/dangling.mp4')).status).toBe(404);
  });

  it('answers 400 to a malformed URL escape and 404 outside its folders', async () => {
    expect((await get('/cli-videos/%E0%A4%A')).status).toBe(400);
    expect((await get('/cli-videos/..%2f..%2fetc%2fpasswd')).status).toBe(404);
  });
});
