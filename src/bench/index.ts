// The benchmark core: formats, prompt, scoring, statistics, export. Pure functions, no DOM.
export * from './types';
export {
  BenchmarkFormatError,
  decodeAnnotation,
  egoPlanBench2Question,
  formatRecordError,
  letterIndex,
  parseBenchmarkFile,
  type InvalidUtf8Line,
  type ParsedBenchmark,
  type RecordError,
} from './formats';
export { describeIssue } from './records';
export * from './prompt';
export * from './scoring';
export * from './results';
export * from './stats';
export * from './export';
export * from './subset';
export * from './manifest';
export * from './media';
export * from './digest';
export * from './run-settings';
export * from './compare';
export * from './import';
export * from './assert';
