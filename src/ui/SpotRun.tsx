import type { QuestionResult, Sample } from '../bench/index';
import { verdictOf } from './run-text';
import { useAppStore } from '../store/index';
import { OutputText } from './OutputText';
import './spot.css';

/** Why "Run this question" cannot run now, or null. */
export function useSpotBlocker(sampleId: string): string | null {
  const modelStatus = useAppStore((s) => s.modelStatus);
  const runStatus = useAppStore((s) => s.runStatus);
  const busy = useAppStore((s) => s.spotAnswer?.status === 'running');
  const busyHere = useAppStore(
    (s) => s.spotAnswer?.status === 'running' && s.spotAnswer.sampleId === sampleId,
  );
  if (modelStatus === 'loading') return 'The model is loading…';
  if (modelStatus !== 'ready') return 'Load a model first (Run view, Alt+2).';
  if (runStatus === 'running' || runStatus === 'pausing' || runStatus === 'paused')
    return 'A run is in progress: the model is busy.';
  if (busyHere) return 'Running…';
  if (busy) return 'Another question is running.';
  return null;
}

/**
 * "Run this question": the question goes through the run's own path (frames from the video
 * worker, the model worker with the Run view's settings, scoring, IndexedDB) and its answer
 * streams here. The answer is kept with the run those settings make.
 */
export function SpotRun({ sample }: { sample: Sample }) {
  const id = sample.sampleId;
  const live = useAppStore((s) => (s.live?.sampleId === id ? s.live : null));
  const answer = useAppStore((s) => (s.spotAnswer?.sampleId === id ? s.spotAnswer : null));
  const marked = useAppStore((s) => s.setMarks?.results[id] ?? null);
  const modelLabel = useAppStore((s) => s.modelLabel);
  const device = useAppStore((s) => s.modelInfo?.device ?? null);
  const config = useAppStore((s) => s.runConfig);
  const runSpot = useAppStore((s) => s.runSpot);
  const blocker = useSpotBlocker(id);
  const result = answer?.result ?? marked;

  return (
    <section className="spot-run" aria-label="Run this question">
      <div className="spot-run-bar">
        <button
          type="button"
          className="primary"
          disabled={blocker !== null}
          onClick={() => void runSpot(id)}
        >
          Run this question
        </button>
        <span className="spot-run-why" data-testid="spot-run-why">
          {blocker ??
            `with ${modelLabel ?? 'the model'} on ${device ?? '?'} · wording ${config.wording} · max ${config.maxNewTokens} new tokens (the Run view's settings)`}
        </span>
      </div>
      {answer?.status === 'refused' && (
        <p className="spot-problem" role="status">
          {answer.message}
        </p>
      )}
      {live ? (
        live.stage === 'frames' ? (
          <p className="hint">Decoding and resizing the frames…</p>
        ) : (
          <div data-testid="spot-live">
            <OutputText text={live.text} streaming />
            <p className="hint">{live.tokens} tokens so far</p>
          </div>
        )
      ) : answer?.status === 'running' ? (
        <p className="hint">Running…</p>
      ) : result ? (
        <div data-testid="spot-answer">
          {!answer && <p className="hint">Recorded in the set’s latest run:</p>}
          {result.response !== null && <OutputText text={result.response} />}
          <Verdict sample={sample} result={result} />
          {result.frameIndices && (
            <p className="hint" data-testid="spot-result-frames">
              The model got frames {result.frameIndices.join(', ')}
            </p>
          )}
        </div>
      ) : null}
      {answer?.status === 'done' && answer.message && (
        <p className="spot-problem" role="status">
          {answer.message}
        </p>
      )}
    </section>
  );
}

export function Verdict({ sample, result }: { sample: Sample; result: QuestionResult }) {
  const v = verdictOf(sample, result);
  return (
    <p className={`spot-verdict verdict-${v.kind}`} data-testid="spot-verdict">
      {v.text}
    </p>
  );
}
