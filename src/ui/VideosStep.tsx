import { useEffect, useMemo, useState } from 'react';
import { Callout } from './Callout';
import { FolderPicker } from './FolderPicker';
import {
  libraryFromDirectory,
  libraryFromFiles,
  libraryFromServer,
  useAppStore,
  type MediaLibrary,
} from '../store/index';

/** Step 3: where the clips and stills are; lists what is missing before the run starts. */
export function VideosStep() {
  const media = useAppStore((s) => s.media);
  const setMedia = useAppStore((s) => s.setMedia);
  const plannedQuestions = useAppStore((s) => s.plannedQuestions);
  // Re-plan when the set, subset or folder changes.
  const samples = useAppStore((s) => s.samples);
  const subset = useAppStore((s) => s.runConfig.subset);
  const [served, setServed] = useState<MediaLibrary | null>(null);
  const [dragging, setDragging] = useState(false);
  const runStatus = useAppStore((s) => s.runStatus);
  const locked = runStatus === 'running' || runStatus === 'pausing' || runStatus === 'paused';

  useEffect(() => {
    void libraryFromServer().then(setServed);
  }, []);
  // The served demo clips are the default when nothing else was picked.
  useEffect(() => {
    if (!media && served) setMedia(served);
  }, [media, served, setMedia]);

  const plan = useMemo(() => plannedQuestions(), [plannedQuestions, samples, media, subset]); // eslint-disable-line react-hooks/exhaustive-deps
  const report = plan.report;
  return (
    <fieldset
      className={dragging ? 'step dragging' : 'step'}
      aria-label="Videos"
      disabled={locked}
      onDragOver={(e) => {
        e.preventDefault();
        if (!locked) setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        if (!locked && e.dataTransfer.files.length > 0)
          setMedia(libraryFromFiles(e.dataTransfer.files, 'dropped files'));
      }}
    >
      <legend>3 · Videos</legend>
      <div className="choice-row">
        {served && (
          <button type="button" onClick={() => setMedia(served)}>
            Use the demo clips
          </button>
        )}
        <FolderPicker
          what="Video folder"
          pickText="Pick dataset folder…"
          onHandle={(handle) => void libraryFromDirectory(handle).then(setMedia)}
          onFiles={(list) => setMedia(libraryFromFiles(list))}
        />
        <span className="hint">or drop clips here</span>
      </div>
      <p data-testid="media-source">
        {media ? (
          <>
            Videos from <strong>{media.label}</strong>
          </>
        ) : (
          'No folder picked yet: a run needs one.'
        )}
      </p>
      {report && (
        <div aria-label="Media check">
          <p data-testid="media-summary">
            {plan.samples.length - report.incomplete.length} of {plan.samples.length} questions have
            their files
            {report.incomplete.length > 0 &&
              ` · ${report.incomplete.length} missing (they will be recorded as errors)`}
          </p>
          {report.incomplete.length > 0 && (
            <Callout tone="warn" title="Missing files:">
              <ul className="report">
                {report.incomplete.slice(0, 12).map((m) => (
                  <li key={m.sampleId}>
                    {m.sampleId}: {m.missing.join(', ')}
                  </li>
                ))}
                {report.incomplete.length > 12 && (
                  <li>… and {report.incomplete.length - 12} more</li>
                )}
              </ul>
            </Callout>
          )}
        </div>
      )}
    </fieldset>
  );
}
