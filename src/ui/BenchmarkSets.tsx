import { useAppStore } from '../store/index';

/** The benchmark sets of the manifest, with their counts; picking one opens its questions. */
export function BenchmarkSets() {
  const manifest = useAppStore((s) => s.manifest);
  const setId = useAppStore((s) => s.setId);
  const selectSet = useAppStore((s) => s.selectSet);

  if (manifest.status !== 'ready') {
    return (
      <section className="panel sets" aria-labelledby="sets-title">
        <h2 id="sets-title">Benchmark sets</h2>
        {manifest.status === 'error' ? (
          <p data-testid="sets-state">None in this build (see the note above).</p>
        ) : (
          <p data-testid="sets-state" aria-busy="true">
            Loading benchmark sets…
          </p>
        )}
      </section>
    );
  }
  const sets = manifest.value.sets;
  return (
    <section className="panel sets" aria-labelledby="sets-title">
      <h2 id="sets-title">Benchmark sets</h2>
      {sets.length === 0 && <p data-testid="sets-state">No sets in the manifest.</p>}
      <ul>
        {sets.map((s) => (
          <li key={s.id}>
            <button
              type="button"
              className={s.id === setId ? 'set selected' : 'set'}
              aria-pressed={s.id === setId}
              data-set-id={s.id}
              onClick={() => void selectSet(s.id)}
            >
              <span className="set-title">
                <span className={`level level-${s.level}`}>{s.level}</span> {s.title}
              </span>
              <span className="set-counts">
                <span data-testid="question-count">{s.questions}</span> questions · {s.withClip}{' '}
                with clip
                {s.skipped > 0 && <> · {s.skipped} invalid records skipped</>}
              </span>
              {Object.keys(s.domains).length > 0 && (
                <span className="set-domains">
                  {Object.entries(s.domains)
                    .map(([d, n]) => `${d} ${n}`)
                    .join(' · ')}
                </span>
              )}
              <span className="set-source">{s.sourceFile}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
