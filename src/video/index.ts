// Video and still-image preprocessing, worker side: WebCodecs decoding, the official frame sampling,
// and resizing that reproduces torchvision (clips) and Pillow (stills). See protocol.md section 2.
export {
  sampleFrameIndices,
  sampledFrameCount,
  roundHalfToEven,
  linspaceFloat32,
} from './sampling';
export {
  FRAME_SIZE,
  prepareVisuals,
  type ClipFrames,
  type PreparedVisuals,
  type PrepareInput,
  type PrepareOptions,
  type VisualFrame,
} from './prepare';
export {
  VideoError,
  isVideoErrorData,
  videoErrorFromData,
  type VideoErrorCode,
  type VideoErrorData,
} from './errors';
export { resizeTorchBicubicAA, resizePillowBicubic } from './resize';
export { yuvTables, yuv420ToRgbPlanar, matrixFromColorSpace, type YuvMatrix } from './yuv';
export { PREVIEW_SIZE } from './previews';
export { prepareVisualsWithVideoElement, needsVideoElementFallback } from './fallback.dom';
