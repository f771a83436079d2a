import type { Subset } from '../bench/index';
import { useAppStore } from '../store/index';
import { Callout, Chip } from './Callout';

/** Step 2: which questions, worded and scored how. The official preset is marked. */
export function BenchmarkStep() {
  const manifest = useAppStore((s) => s.manifest);
  const setId = useAppStore((s) => s.setId);
  const samples = useAppStore((s) => s.samples);
  const selectSet = useAppStore((s) => s.selectSet);
  const loadDroppedFile = useAppStore((s) => s.loadDroppedFile);
  const droppedReport = useAppStore((s) => s.droppedReport);
  const droppedTone = useAppStore((s) => s.droppedTone);
  const manifestMissing = useAppStore((s) => s.manifestMissing);
  const runStatus = useAppStore((s) => s.runStatus);
  const locked = runStatus === 'running' || runStatus === 'pausing' || runStatus === 'paused';
  const config = useAppStore((s) => s.runConfig);
  const setRunConfig = useAppStore((s) => s.setRunConfig);
  const sets = manifest.status === 'ready' ? manifest.value.sets : [];
  const count = samples.status === 'ready' ? samples.value.length : 0;
  const subset = config.subset;
  const setSubset = (s: Subset) => setRunConfig({ subset: s });
  const readFile = (f: File | undefined) => {
    // Bytes, not f.text(): invalid UTF-8 is then reported with its line, not silently replaced.
    if (f) void f.arrayBuffer().then((b) => loadDroppedFile(f.name, new Uint8Array(b)));
  };

  return (
    <fieldset
      className="step"
      aria-label="Benchmark"
      disabled={locked}
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        e.preventDefault();
        if (!locked) readFile(e.dataTransfer.files[0]);
      }}
    >
      <legend>2 · Benchmark</legend>
      <div className="choice-row">
        <label>
          Set{' '}
          <select
            aria-label="Benchmark set"
            value={setId ?? ''}
            onChange={(e) => void selectSet(e.target.value)}
          >
            <option value="" disabled>
              {sets.length === 0 ? 'no sets in this build' : 'pick a set…'}
            </option>
            {sets.map((s) => (
              <option key={s.id} value={s.id}>
                {s.level} · {s.title} ({s.questions})
              </option>
            ))}
            {setId?.startsWith('file:') && (
              <option value={setId}>{setId.slice(5)} (dropped)</option>
            )}
          </select>
        </label>
        <label className="file-button">
          or open an annotation file
          <input
            type="file"
            aria-label="Annotation file"
            accept=".json,.jsonl"
            onChange={(e) => readFile(e.target.files?.[0])}
          />
        </label>
      </div>
      {manifestMissing && !setId && (
        <p className="hint">
          No sets in this build: open an annotation file (SEED-Bench-R1 validation_L*.jsonl,
          EgoPlan_validation.json, EgoPlan-Bench2.json or examples.jsonl), or drop it here.
        </p>
      )}
      {droppedReport.length > 0 && (
        <Callout
          tone={droppedTone}
          alert={droppedTone !== 'ok'}
          title={
            droppedTone === 'bad'
              ? 'Not read:'
              : droppedTone === 'warn'
                ? 'Read, with problems:'
                : 'Read:'
          }
        >
          <ul className="report" aria-label="Annotation file report">
            {droppedReport.slice(0, 20).map((m, i) => (
              <li key={i}>{m}</li>
            ))}
            {droppedReport.length > 20 && <li>… and {droppedReport.length - 20} more</li>}
          </ul>
        </Callout>
      )}
      <div className="choice-row" role="radiogroup" aria-label="Questions">
        <label>
          <input
            type="radio"
            name="questions"
            checked={subset.kind === 'all'}
            onChange={() => setSubset({ kind: 'all' })}
          />{' '}
          all {count}
        </label>
        <label>
          <input
            type="radio"
            name="questions"
            checked={subset.kind === 'first'}
            onChange={() => setSubset({ kind: 'first', count: Math.min(10, count) })}
          />{' '}
          first{' '}
          <input
            type="number"
            aria-label="First N questions"
            min={1}
            className="narrow"
            value={subset.kind === 'first' ? subset.count : 10}
            onChange={(e) =>
              setSubset({ kind: 'first', count: Math.max(1, Number(e.target.value)) })
            }
          />
        </label>
        <label>
          <input
            type="radio"
            name="questions"
            checked={subset.kind === 'random'}
            onChange={() => setSubset({ kind: 'random', count: Math.min(100, count), seed: 0 })}
          />{' '}
          random{' '}
          <input
            type="number"
            aria-label="Random sample size"
            min={1}
            className="narrow"
            value={subset.kind === 'random' ? subset.count : 100}
            onChange={(e) =>
              setSubset({
                kind: 'random',
                count: Math.max(1, Number(e.target.value)),
                seed: subset.kind === 'random' ? subset.seed : 0,
              })
            }
          />{' '}
          seed{' '}
          <input
            type="number"
            aria-label="Random seed"
            className="narrow"
            value={subset.kind === 'random' ? subset.seed : 0}
            onChange={(e) =>
              setSubset({
                kind: 'random',
                count: subset.kind === 'random' ? subset.count : 100,
                seed: Number(e.target.value),
              })
            }
          />
        </label>
      </div>
      <div className="choice-row">
        <label>
          Question wording{' '}
          <select
            aria-label="Question wording"
            value={config.wording}
            onChange={(e) =>
              setRunConfig({ wording: e.target.value === 'as-is' ? 'as-is' : 'seed-bench-r1' })
            }
          >
            <option value="seed-bench-r1">
              SEED-Bench-R1 ("shown in the image") · official preset
            </option>
            <option value="as-is">as in the file</option>
          </select>
        </label>
        <label>
          Clip frames{' '}
          <select
            aria-label="Clip frame values"
            value={config.clipValues}
            onChange={(e) =>
              setRunConfig({ clipValues: e.target.value === 'float' ? 'float' : 'uint8' })
            }
          >
            <option value="uint8">rounded to 0..255 as the official code · official preset</option>
            <option value="float">unrounded floats (protocol.md wording)</option>
          </select>
        </label>
        <label>
          max new tokens{' '}
          <input
            type="number"
            aria-label="Max new tokens"
            className="narrow"
            min={1}
            value={config.maxNewTokens}
            onChange={(e) => setRunConfig({ maxNewTokens: Math.max(1, Number(e.target.value)) })}
          />{' '}
          {config.maxNewTokens === 256 ? (
            <Chip tone="ok">✓ official</Chip>
          ) : (
            <Chip tone="warn">! not official</Chip>
          )}
        </label>
      </div>
      <div className="choice-row" aria-label="Scoring">
        <label>
          <input
            type="checkbox"
            checked={config.scoring.official}
            onChange={(e) =>
              setRunConfig({ scoring: { ...config.scoring, official: e.target.checked } })
            }
          />{' '}
          Official: greedy generation, first &lt;answer&gt; tag <Chip tone="ok">✓ official</Chip>
        </label>
        <label>
          <input
            type="checkbox"
            checked={config.scoring.letters}
            onChange={(e) =>
              setRunConfig({ scoring: { ...config.scoring, letters: e.target.checked } })
            }
          />{' '}
          A/B/C/D first-token log-probs <Chip tone="warn">! not official</Chip>
        </label>
        <label>
          <input
            type="checkbox"
            checked={config.scoring.likelihood}
            onChange={(e) =>
              setRunConfig({ scoring: { ...config.scoring, likelihood: e.target.checked } })
            }
          />{' '}
          EgoPlan likelihood ranking <Chip tone="warn">! not official</Chip>
        </label>
      </div>
    </fieldset>
  );
}
