// The video worker: decodes and prepares one question's visuals per request, one at a time.
import { prepareVisuals, VideoError } from '../video/index';
import { visualsTransferables, type VideoRequest, type VideoResponse } from './video-protocol';

// Requests are served in order so that two clips never decode at once (memory, fairness).
let queue: Promise<void> = Promise.resolve();

onmessage = (e: MessageEvent<VideoRequest>) => {
  const req = e.data;
  queue = queue.then(async () => {
    let msg: VideoResponse;
    try {
      const visuals = await prepareVisuals(req.input, req.options);
      msg = { type: 'result', id: req.id, visuals };
      postMessage(msg, visualsTransferables(visuals));
      return;
    } catch (err) {
      msg = {
        type: 'error',
        id: req.id,
        error:
          err instanceof VideoError
            ? { code: err.code, file: err.file, message: err.message }
            : {
                code: 'internal',
                file: req.input.clipName ?? req.input.stillName ?? '(question)',
                message: err instanceof Error ? err.message : String(err),
              },
      };
    }
    postMessage(msg);
  });
};
