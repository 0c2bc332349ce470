/**
 * What `import ... from 'sacbridge'` gives user code: the task format with `defineTask` (so a
 * task written in TypeScript is type-checked), the Task interface for hand-written tasks, the
 * signals a plant gives, and the term helpers the built-in tasks use. docs/tasks.md shows both.
 */
export { defineTask } from '../task/spec/taskSpec.js';
export type {
  FrameRef,
  JointNoise,
  Kernel,
  Names,
  Noise,
  ObservationTerm,
  PointRef,
  Quantity,
  QuantityKind,
  ResetSpec,
  RewardTerm,
  RewardType,
  Sliced,
  TargetSpec,
  TaskSpec,
  TerminationTerm,
  TerminationType,
} from '../task/spec/taskSpec.js';
export type { StepScore, Task, TaskDefinition } from '../task/task.js';
export type { SignalSpec, Signals, SimulatorAccess } from '../plant/plant.js';
export { requireSignal } from '../plant/plant.js';
export { allFiniteValues, clip, put, setNoisyInitialState, sumOfClippedSquares, sumOfSquares, wrapAngle, type ResetNoise } from '../task/taskMath.js';
export { compileTaskSpec, type CompiledTaskSpec, type ObservationSlice } from '../task/spec/compileTask.js';
export { TaskSpecError } from '../task/spec/specReader.js';
export { loadTaskFile, readModelInfoFile } from '../task/taskFile.js';
export type { ModelInfo } from '../plant/modelInfo.js';
export { Rng } from '../util/rng.js';
