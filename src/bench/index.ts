// The benchmark core: formats, prompt, scoring, statistics, export. Pure functions, no DOM.
export * from './types';
export {
  BenchmarkFormatError,
  egoPlanBench2Question,
  formatRecordError,
  letterIndex,
  parseBenchmarkFile,
  type ParsedBenchmark,
  type RecordError,
} from './formats';
export * from './prompt';
export * from './scoring';
export * from './results';
export * from './stats';
export * from './export';
export * from './subset';
export * from './manifest';
export * from './media';
