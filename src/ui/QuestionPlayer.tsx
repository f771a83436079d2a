import { useEffect, useRef, useState } from 'react';
import type { Sample } from '../bench/index';
import type { LoadState, SpotFrames } from '../store/index';
import { secondsText } from './results-inspect';
import './spot.css';

/**
 * A question's clip playing (a <video> element), the frames a run samples from it marked on its
 * timeline, those frames as the model gets them (thumbnails of the 252 x 252 frames, from the
 * video worker), and the current-observation still beside the clip. Used by the Benchmarks view
 * and, at talk size, by presentation mode.
 */
export function QuestionPlayer({
  sample,
  frames,
  talk = false,
}: {
  sample: Sample;
  frames: LoadState<SpotFrames> | null;
  /** Presentation mode: plays on its own, muted, looping, large. */
  talk?: boolean;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState<number | null>(null);
  const f = frames?.status === 'ready' ? frames.value : null;
  const clipUrl = f?.clipUrl ?? null;

  // The playhead and the active sampled frame follow the clip frame by frame while it plays.
  useEffect(() => {
    const v = video.current;
    if (!v || !clipUrl) return;
    let raf = 0;
    const tick = () => {
      setTime(v.currentTime);
      if (!v.paused) raf = requestAnimationFrame(tick);
    };
    const onPlay = () => {
      cancelAnimationFrame(raf);
      raf = requestAnimationFrame(tick);
    };
    const onMeta = () => setDuration(Number.isFinite(v.duration) ? v.duration : null);
    v.addEventListener('play', onPlay);
    v.addEventListener('seeked', tick);
    v.addEventListener('loadedmetadata', onMeta);
    if (v.readyState >= 1) onMeta();
    return () => {
      cancelAnimationFrame(raf);
      v.removeEventListener('play', onPlay);
      v.removeEventListener('seeked', tick);
      v.removeEventListener('loadedmetadata', onMeta);
    };
  }, [clipUrl]);

  const seek = (t: number) => {
    const v = video.current;
    if (!v) return;
    v.pause();
    v.currentTime = t;
  };

  if (!sample.hasClip && !sample.stillPath) return null;
  if (!frames || frames.status === 'loading' || frames.status === 'idle') {
    return (
      <p className="hint spot-status" data-testid="spot-frames-status">
        Opening the clip and sampling its frames…
      </p>
    );
  }
  if (frames.status === 'error') {
    return (
      <p className="spot-problem" role="status" data-testid="spot-frames-status">
        {frames.message}
      </p>
    );
  }
  const v = frames.value;
  const indices = v.indices ?? [];
  const stamps = v.timestampsS ?? [];
  const clipCount = indices.length;
  const active = activeFrame(stamps, time);
  const stillPreview = v.previews[clipCount];
  const lastStamp = stamps.at(-1);

  return (
    <div className={talk ? 'spot-player spot-talk' : 'spot-player'}>
      <div className="spot-media">
        {v.clipUrl && (
          <figure className="spot-clip">
            <video
              ref={video}
              src={v.clipUrl}
              controls={!talk}
              muted
              playsInline
              loop={talk}
              autoPlay={talk}
              preload="auto"
              aria-label={`Clip of question ${sample.sampleId}`}
              data-testid="spot-video"
            />
            <div
              className="spot-timeline"
              data-testid="spot-timeline"
              // The marks repeat the frame buttons below, which are the keyboard path.
              aria-hidden="true"
            >
              {duration !== null && (
                <>
                  <span
                    className="spot-playhead"
                    style={{ left: `${Math.min(100, (time / duration) * 100)}%` }}
                  />
                  {stamps.map((t, i) => (
                    <span
                      key={indices[i] ?? i}
                      className={i === active ? 'spot-mark active' : 'spot-mark'}
                      data-frame-index={indices[i]}
                      style={{ left: `${Math.min(100, (t / duration) * 100)}%` }}
                      onClick={() => seek(t)}
                    />
                  ))}
                </>
              )}
            </div>
            <figcaption className="hint">
              {clipCount} frames sampled as the run samples them
              {duration !== null ? ` · clip ${duration.toFixed(1)} s` : ''}
            </figcaption>
          </figure>
        )}
        <figure className="spot-still">
          {v.stillUrl ? (
            <img src={v.stillUrl} alt="Current observation (the question's still image)" />
          ) : v.clipUrl && lastStamp !== undefined ? (
            <LastFrame url={v.clipUrl} at={lastStamp} />
          ) : stillPreview ? (
            <img src={stillPreview} alt="Current observation" />
          ) : null}
          <figcaption className="hint">
            {v.stillFrom === 'image'
              ? 'Still: current observation'
              : 'Still: the clip’s last frame'}
          </figcaption>
        </figure>
      </div>
      {clipCount > 0 && (
        <ol className="spot-frames" aria-label={`${clipCount} sampled clip frames`}>
          {v.previews.slice(0, clipCount).map((url, i) => (
            <li key={url}>
              <button
                type="button"
                className={i === active ? 'spot-frame active' : 'spot-frame'}
                onClick={() => seek(stamps[i] ?? 0)}
                data-frame-index={indices[i]}
              >
                <img src={url} alt="" width={talk ? 96 : 64} height={talk ? 96 : 64} />
                <span className="spot-frame-caption">
                  <span className="visually-hidden">Show in the clip: frame </span>#
                  {indices[i] ?? '?'}
                  {!talk && (
                    <>
                      <br />
                      {secondsText(stamps[i])}
                    </>
                  )}
                </span>
              </button>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** The sampled frame shown at time t: the last one at or before it. */
function activeFrame(stamps: readonly number[], t: number): number {
  let k = -1;
  for (const [i, s] of stamps.entries()) if (s <= t + 1e-3) k = i;
  return k;
}

/** The clip's last frame, from a second <video> held there (the observation of a clip-only question). */
function LastFrame({ url, at }: { url: string; at: number }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const v = ref.current;
    if (!v) return;
    const hold = () => {
      const end = Number.isFinite(v.duration) ? v.duration : at;
      v.currentTime = Math.max(0, Math.min(at + 0.01, end - 0.005));
    };
    v.addEventListener('loadedmetadata', hold);
    if (v.readyState >= 1) hold();
    return () => v.removeEventListener('loadedmetadata', hold);
  }, [url, at]);
  return (
    <video
      ref={ref}
      src={url}
      muted
      playsInline
      preload="auto"
      aria-label="Current observation: the clip's last frame"
      data-testid="spot-still-frame"
    />
  );
}
