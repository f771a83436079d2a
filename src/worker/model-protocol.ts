// Messages between the UI thread and the model worker (src/worker/model.worker.ts).
import type { QuestionOptions, Sample } from '../bench/index';
import type {
  LoadedModel,
  LoadEvent,
  LoadSettings,
  ModelAnswer,
  ModelErrorCode,
  ModelSource,
  ModelVisuals,
} from '../model/index';

export interface ModelLoadRequest {
  type: 'load';
  id: number;
  source: ModelSource;
  /** As the caller built them (dtype 'auto' included), handed to the loader whole. */
  settings: LoadSettings;
}

export interface ModelRunRequest {
  type: 'run';
  id: number;
  sample: Sample;
  /** Previews are not needed by the model and are dropped before posting. */
  visuals: Omit<ModelVisuals, 'previews'>;
  /** Built once from the run settings (bench questionOptions) and handed to the model whole. */
  options: QuestionOptions;
  /**
   * Set to 1 by the client to cancel; the model's decoding loop reads it between tokens, so it
   * works even while the worker never returns to its event loop. Null when the page is not
   * cross-origin isolated (no SharedArrayBuffer): the 'cancel' message is the only way then.
   */
  cancelFlag: Int32Array | null;
}

export type ModelRequest =
  | ModelLoadRequest
  | ModelRunRequest
  /** Cancel the run with this id (no-op when it already finished). */
  | { type: 'cancel'; id: number }
  | { type: 'dispose'; id: number }
  /** Tests only: destroy the WebGPU device, as a GPU reset would. */
  | { type: 'lose-device'; id: number };

/** What the UI learns about a loaded model: the plain-data part of the model stage's LoadedModel. */
export type ModelInfo = Pick<
  LoadedModel,
  | 'device'
  | 'deviceReason'
  | 'deviceSlow'
  | 'dtype'
  | 'dtypeReason'
  | 'graphDtypes'
  | 'graphs'
  | 'generation'
  | 'sizeProblem'
  | 'source'
  | 'files'
  | 'content'
  | 'modelBytes'
  | 'threads'
  | 'loadMs'
  | 'engine'
  | 'engineNote'
  | 'q4Int8'
>;

export interface ModelErrorData {
  code: ModelErrorCode;
  message: string;
  file?: string;
}

export type ModelResponse =
  | { type: 'progress'; id: number; event: LoadEvent }
  | { type: 'loaded'; id: number; info: ModelInfo }
  | { type: 'token'; id: number; text: string; tokenId: number }
  | { type: 'result'; id: number; result: ModelAnswer }
  /** The WebGPU device was lost during request `id`; the model was reloaded on `info.device`. */
  | { type: 'fallback'; id: number; reason: string; info: ModelInfo }
  | { type: 'error'; id: number; error: ModelErrorData }
  | { type: 'disposed'; id: number }
  | { type: 'device-destroyed'; id: number; destroyed: boolean };
