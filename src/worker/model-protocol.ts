// Messages between the UI thread and the model worker (src/worker/model.worker.ts).
import type { QuestionWording, Sample } from '../bench/index';
import type {
  LoadedModel,
  DeviceRequest,
  LoadEvent,
  LoadOptions,
  ModelDtype,
  ModelErrorCode,
  ModelSource,
  ModelVisuals,
  QuestionResult,
  ScoringOptions,
} from '../model/index';

export interface ModelLoadRequest {
  type: 'load';
  id: number;
  source: ModelSource;
  dtype: ModelDtype;
  graphDtypes?: LoadOptions['graphDtypes'];
  device: DeviceRequest;
  numThreads?: number;
  cache?: boolean;
  engine?: LoadOptions['engine'];
  kvCapacity?: number;
  graphCapture?: boolean;
  profile?: boolean;
  gpuSubgroups?: boolean;
}

export interface ModelRunRequest {
  type: 'run';
  id: number;
  sample: Sample;
  /** Previews are not needed by the model and are dropped before posting. */
  visuals: Omit<ModelVisuals, 'previews'>;
  scoring: ScoringOptions;
  maxNewTokens?: number;
  topLogits?: number;
  logitsAt?: number[];
  checkLikelihood?: boolean;
  wording?: QuestionWording;
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
  | 'dtype'
  | 'graphDtypes'
  | 'source'
  | 'files'
  | 'modelBytes'
  | 'threads'
  | 'loadMs'
  | 'engine'
  | 'engineNote'
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
  | { type: 'result'; id: number; result: QuestionResult }
  /** The WebGPU device was lost during request `id`; the model was reloaded on `info.device`. */
  | { type: 'fallback'; id: number; reason: string; info: ModelInfo }
  | { type: 'error'; id: number; error: ModelErrorData }
  | { type: 'disposed'; id: number }
  | { type: 'device-destroyed'; id: number; destroyed: boolean };
