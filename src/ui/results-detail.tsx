// The Inspector's right-hand side: one question in full.
import {
  CHOICE_LETTERS,
  promptMismatch,
  renderChatPrompt,
  type ClipValues,
  type QuestionResult,
  type Sample,
} from '../bench/index';
import { useEffect, useState } from 'react';
import { framesKey, useAppStore, type QuestionFrames } from '../store/index';
import { OutputText } from './OutputText';
import {
  formatTiming,
  letterProbabilities,
  questionStatus,
  realTokenCounts,
  secondsText,
  timingLabel,
} from './results-inspect';

const STATUS_TEXT = {
  right: 'right',
  wrong: 'wrong',
  unparseable: 'unparseable (scored 0)',
  error: 'error',
  'not-run': 'not run',
} as const;

export function InspectorDetail({
  runKey,
  clipValues,
  sample,
  result,
  onRerun,
}: {
  /** The run shown (its frames are kept under its key); null: no run, the set's question. */
  runKey: string | null;
  /** The run's clip-frame setting (frames decoded again must be decoded as it did). */
  clipValues: ClipValues;
  sample: Sample;
  result: QuestionResult | undefined;
  onRerun: (sampleId: string) => void;
}) {
  const id = sample.sampleId;
  // Only this question's live state: other questions' tokens leave this selector's value alone.
  const live = useAppStore((s) => (s.live?.sampleId === id ? s.live : null));
  const frames = useAppStore((s) => (runKey ? s.frames[framesKey(runKey, id)] : undefined));
  const recall = useAppStore((s) => s.recallFrames);
  const redecode = useAppStore((s) => s.redecodeFrames);
  const [redecoding, setRedecoding] = useState<string | null>(null);
  // Thumbnails of a stored question come back from IndexedDB; 'none': the run kept none.
  const [kept, setKept] = useState<'looking' | 'none' | 'failed'>('looking');
  const ran = result !== undefined;
  useEffect(() => {
    if (!runKey || !ran || frames) return;
    const effect = { alive: true };
    recall(runKey, id).then(
      (found) => {
        if (effect.alive && !found) setKept('none');
      },
      () => {
        if (effect.alive) setKept('failed');
      },
    );
    return () => {
      effect.alive = false;
    };
  }, [runKey, id, ran, frames, recall]);
  // The prompt the model got, as its own record says (wording, pads); before a run, the one the
  // run's (or the form's) settings would give.
  const planned = useAppStore((s) => s.runSettings?.wording ?? s.runConfig.wording);
  const got = result?.modelPrompt ?? null;
  const wording = got?.wording ?? planned;
  const mismatch = got ? promptMismatch(sample, got) : null;
  const status = live ? 'running' : questionStatus(result);
  const frameCount = frames?.indices?.length ?? result?.frameIndices?.length ?? null;
  const tokens = realTokenCounts(sample, frameCount);
  const prompt = renderChatPrompt(
    sample,
    { clipTokens: sample.hasClip ? 1 : null, stillTokens: 1 },
    wording,
  );

  return (
    <article className="inspector-detail" aria-label={`Question ${id}`}>
      <header className="detail-head">
        <h2>
          <span className={`level level-${sample.level}`}>{sample.level}</span> Question{' '}
          <span data-testid="inspector-sample-id">{id}</span>{' '}
          <span className={`status-chip status-${status}`} data-testid="inspector-status">
            {status === 'running' ? 'running' : STATUS_TEXT[status]}
          </span>
        </h2>
        <button
          type="button"
          onClick={() => onRerun(id)}
          disabled={live !== null}
          title="Run this question again with the current model and settings"
        >
          Run again
        </button>
      </header>
      {sample.domain && (
        <p className="meta">
          {sample.domain} · {sample.scenario}
        </p>
      )}

      {/* A failed question says so first, above what it has (not under its prompt and output). */}
      {result?.error && (
        <p role="alert" className="error" data-testid="inspector-error">
          {result.error.stage} stage failed: {result.error.message}
        </p>
      )}

      <h3>Frames</h3>
      <Filmstrip
        sample={sample}
        frames={frames}
        state={live ? 'running' : result ? kept : 'not-run'}
        failedStage={result?.error && !result.modelPrompt ? result.error.stage : null}
      />
      {!frames && kept === 'none' && result && !result.error && runKey && (
        <p className="hint">
          <button
            type="button"
            disabled={redecoding === 'working'}
            onClick={() => {
              setRedecoding('working');
              void redecode(runKey, sample, clipValues, result.frameIndices).then((why) =>
                setRedecoding(why ?? 'done'),
              );
            }}
          >
            Decode them again from the clips
          </button>{' '}
          {redecoding && redecoding !== 'working' && redecoding !== 'done' && (
            <span role="status" data-testid="redecode-problem">
              {redecoding}
            </span>
          )}
        </p>
      )}

      <h3>Prompt</h3>
      <p className="hint" data-testid="inspector-prompt-record">
        {got
          ? `What the model got: wording ${got.wording}, ${got.tokens} tokens, sha256 ${got.sha256.slice(0, 16)}… ${mismatch ? `— DIFFERS from this text: ${mismatch}` : '(equals this text with the pads expanded)'}`
          : `Not run yet: wording ${wording} (the run's settings).`}
      </p>
      <pre className="prompt-text" data-testid="inspector-prompt">
        {prompt}
      </pre>
      <p className="hint">
        Pads shown once. The processor expands{' '}
        {sample.hasClip && (
          <>
            <code>{'<|video_pad|>'}</code> to n/2 × 81{' '}
            {tokens.clipTokens === null
              ? 'tokens (n = frames sampled, 4 to 16, even; 648 for 16)'
              : `= ${tokens.clipTokens} tokens (n = ${tokens.frames} frames)`}{' '}
            and{' '}
          </>
        )}
        <code>{'<|image_pad|>'}</code> to {tokens.stillTokens} tokens (252 × 252).
      </p>

      <h3>Output</h3>
      {live ? (
        live.stage === 'frames' ? (
          <p className="hint">Decoding and resizing frames…</p>
        ) : (
          <>
            <OutputText text={live.text} streaming />
            <p className="hint">{live.tokens} tokens so far</p>
          </>
        )
      ) : result && result.response !== null ? (
        <OutputText text={result.response} />
      ) : (
        <p className="hint">
          {result
            ? 'No generated output (the official mode did not run or failed).'
            : 'Not run yet.'}
        </p>
      )}

      {result && <Scores sample={sample} result={result} />}

      {result && Object.keys(result.timings).length > 0 && (
        <>
          <h3>Timings</h3>
          <dl className="meta-grid timings">
            {Object.entries(result.timings).map(([k, v]) => (
              <div key={k} className="timing">
                <dt>{timingLabel(k)}</dt>
                <dd>{formatTiming(k, v)}</dd>
              </div>
            ))}
          </dl>
          <p className="hint">Finished {result.finishedAt}</p>
        </>
      )}
    </article>
  );
}

function Filmstrip({
  sample,
  frames,
  state,
  failedStage,
}: {
  sample: Sample;
  frames: QuestionFrames | undefined;
  state: 'running' | 'looking' | 'none' | 'failed' | 'not-run';
  /** The stage that failed before the model got anything (no frames were made). */
  failedStage: string | null;
}) {
  if (!frames) {
    const text = {
      running: 'Preparing the frames…',
      looking: 'Loading the frames this question’s model got…',
      none: failedStage
        ? `No frames: the ${failedStage} stage failed before the model got any (see the error above).`
        : 'This run kept no frames for this question (it ran in an older version).',
      failed: 'The stored frames could not be read from this browser’s storage.',
      'not-run': `Not run yet. Clip: ${sample.clipPaths?.[0] ?? 'none'}; still: ${sample.stillPath ?? 'last frame of the clip'}.`,
    }[state];
    return (
      <p className="hint" data-testid="frames-missing">
        {text}
      </p>
    );
  }
  const clipCount = frames.indices?.length ?? 0;
  const clip = frames.previews.slice(0, clipCount);
  // The still comes after the clip frames; without one, the clip's last frame is the observation.
  const still =
    frames.previews[clipCount] ?? (frames.stillFrom === 'last-frame' ? clip.at(-1) : undefined);
  return (
    // Scrolls sideways on narrow screens: focusable, so the keyboard can scroll it too.
    <div className="filmstrip-row" role="group" aria-label="Frames the model got" tabIndex={0}>
      {clipCount > 0 && (
        <ol className="filmstrip" aria-label={`${clipCount} sampled clip frames`}>
          {clip.map((url, i) => (
            <li key={url}>
              <figure>
                <img
                  src={url}
                  alt={`clip frame ${frames.indices?.[i] ?? i}`}
                  width={84}
                  height={84}
                />
                <figcaption>
                  #{frames.indices?.[i] ?? '?'}
                  <br />
                  {secondsText(frames.timestampsS?.[i])}
                </figcaption>
              </figure>
            </li>
          ))}
        </ol>
      )}
      {still && (
        <figure className="still">
          <img src={still} alt="current observation" width={168} height={168} />
          <figcaption>
            {frames.stillFrom === 'image' ? 'still (image)' : 'last frame of the clip'}
          </figcaption>
        </figure>
      )}
    </div>
  );
}

function Scores({ sample, result }: { sample: Sample; result: QuestionResult }) {
  const probs = result.letterLogprobs ? letterProbabilities(result.letterLogprobs) : null;
  const nll = result.choiceNll;
  const bestNll = nll ? Math.min(...nll.filter((x) => !Number.isNaN(x))) : null;
  const bestShare = probs ? Math.max(...probs.share) : null;
  return (
    <>
      <h3>Answer</h3>
      <dl className="meta-grid" data-testid="inspector-answer">
        <dt>Gold</dt>
        <dd>{sample.gold}</dd>
        <dt>Official</dt>
        <dd>
          {result.official
            ? result.official.answer === null
              ? 'no <answer> tag → no letter, scores 0'
              : `<answer> reads “${result.official.answer}” → ${result.official.letter ?? 'no letter (first character not A–D)'}, reward ${result.official.reward}`
            : 'not run'}
        </dd>
        <dt>Lenient (not official)</dt>
        <dd>
          {result.lenient
            ? result.lenient.letter
              ? `${result.lenient.letter} via ${result.lenient.method}, reward ${result.lenient.reward}`
              : 'no letter found'
            : 'not run'}
        </dd>
      </dl>
      <table className="results-table choices-table" data-testid="choice-scores">
        <thead>
          <tr>
            <th scope="col">Choice</th>
            <th scope="col">Text</th>
            <th scope="col" title="Probability of the letter as the first generated token">
              P(letter)
            </th>
            <th scope="col" title="The four letter probabilities renormalised to sum to 1">
              share of A–D
            </th>
            <th
              scope="col"
              title="Mean negative log-likelihood per token of the choice text as the reply (lower is better)"
            >
              NLL / token
            </th>
          </tr>
        </thead>
        <tbody>
          {CHOICE_LETTERS.map((l, i) => {
            const marks = [
              l === sample.gold ? 'gold' : '',
              l === result.official?.letter ? 'official pick' : '',
              l === result.lenient?.letter && result.lenient.method !== 'official'
                ? 'lenient pick'
                : '',
            ].filter(Boolean);
            const share = probs?.share[i];
            const n = nll?.[i];
            return (
              <tr key={l} className={l === sample.gold ? 'gold-row' : ''}>
                <th scope="row">
                  {l} {marks.length > 0 && <span className="muted">({marks.join(', ')})</span>}
                </th>
                <td className="choice-text">{sample.choices[i]}</td>
                <td className="num">{probs ? (probs.p[i] ?? 0).toPrecision(3) : '—'}</td>
                <td className={share !== undefined && share === bestShare ? 'num strong' : 'num'}>
                  {share === undefined ? '—' : `${(share * 100).toFixed(1)}%`}
                </td>
                <td className={n !== undefined && n === bestNll ? 'num strong' : 'num'}>
                  {n === undefined ? '—' : n.toFixed(3)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {result.frameIndices && (
        <p className="hint">Sampled frame indices: {result.frameIndices.join(', ')}</p>
      )}
    </>
  );
}
