import type { ActorWeights, DenseWeights } from '../agent/policy.js';
import { ProtoMessage } from './protobufWriter.js';

/**
 * The deterministic SAC policy as an ONNX model (pure: weights in, file bytes out).
 *
 *   observation [batch, obs]                                      float32
 *     -> (observation - obs_mean) / obs_std, clipped to ±clip     when the run normalised observations
 *     -> Gemm + Relu per hidden layer                             y = x W + b, W stored [in][out]
 *     -> Gemm (mean head) -> Tanh                                 = action in [-1, 1]   (output "action")
 *     -> action * (high - low) / 2 + (high + low) / 2             = command in physical units (output "command",
 *                                                                   when the plant's command range is known)
 *
 * This is exactly sacbridge's deterministic action (FastPolicy.act with deterministic = true) and
 * the linear scaling Env applies to it (scaleAction). The log-std head is not exported: it only
 * matters for exploration. Opset 13 / IR version 7, readable by onnxruntime 1.7 and later.
 */

/** onnx.proto's TensorProto.DataType FLOAT. */
const FLOAT = 1;
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

export interface OnnxPolicyOptions {
  /** The plant's command range; with it the model has a second output, "command". */
  readonly command?: { readonly low: ArrayLike<number>; readonly high: ArrayLike<number> };
  /** Key/value pairs stored in the model's metadata_props (task, steps, names, ...). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly producerVersion: string;
}

interface Node {
  op: string;
  inputs: string[];
  output: string;
}

export function policyToOnnx(weights: ActorWeights, options: OnnxPolicyOptions): Uint8Array {
  const obsSize = weights.hidden.length > 0 ? weights.hidden[0]!.inSize : weights.mean.inSize;
  const actSize = weights.mean.outSize;
  const initializers: ProtoMessage[] = [];
  const nodes: Node[] = [];
  const constant = (name: string, dims: number[], values: ArrayLike<number>): string => {
    const count = dims.reduce((n, d) => n * d, 1);
    if (values.length !== count) throw new Error(`ONNX export: ${name} has ${values.length} values, its shape ${JSON.stringify(dims)} needs ${count}`);
    initializers.push(tensor(name, dims, values));
    return name;
  };

  let x = 'observation';
  const n = weights.normalizer;
  if (n !== undefined) {
    const mean = constant('obs_mean', [obsSize], n.mean);
    const std = constant('obs_std', [obsSize], n.std);
    nodes.push({ op: 'Sub', inputs: [x, mean], output: 'obs_centered' });
    nodes.push({ op: 'Div', inputs: ['obs_centered', std], output: 'obs_scaled' });
    nodes.push({ op: 'Clip', inputs: ['obs_scaled', constant('obs_clip_min', [], [-n.clip]), constant('obs_clip_max', [], [n.clip])], output: 'obs_normalized' });
    x = 'obs_normalized';
  }
  const dense = (layer: DenseWeights, name: string, input: string): string => {
    const w = constant(`${name}_kernel`, [layer.inSize, layer.outSize], layer.kernel);
    const b = constant(`${name}_bias`, [layer.outSize], layer.bias);
    nodes.push({ op: 'Gemm', inputs: [input, w, b], output: `${name}_linear` });
    return `${name}_linear`;
  };
  weights.hidden.forEach((layer, i) => {
    const linear = dense(layer, `hidden${i}`, x);
    nodes.push({ op: 'Relu', inputs: [linear], output: `hidden${i}` });
    x = `hidden${i}`;
  });
  const mean = dense(weights.mean, 'mean_head', x);
  nodes.push({ op: 'Tanh', inputs: [mean], output: 'action' });
  const outputs = [valueInfo('action', actSize)];

  const c = options.command;
  if (c !== undefined) {
    if (c.low.length !== actSize || c.high.length !== actSize) {
      throw new Error(`ONNX export: the command range has ${c.low.length}/${c.high.length} bounds, the policy ${actSize} actions`);
    }
    const half = Array.from({ length: actSize }, (_, i) => (c.high[i]! - c.low[i]!) / 2);
    const mid = Array.from({ length: actSize }, (_, i) => (c.high[i]! + c.low[i]!) / 2);
    nodes.push({ op: 'Mul', inputs: ['action', constant('command_half_span', [actSize], half)], output: 'command_offset' });
    nodes.push({ op: 'Add', inputs: ['command_offset', constant('command_mid', [actSize], mid)], output: 'command' });
    outputs.push(valueInfo('command', actSize));
  }

  const graph = new ProtoMessage();
  nodes.forEach((node, i) => graph.message(1, nodeProto(node, `${node.op.toLowerCase()}_${i}`)));
  graph.string(2, 'sacbridge_policy');
  for (const t of initializers) graph.message(5, t);
  graph.message(11, valueInfo('observation', obsSize));
  for (const o of outputs) graph.message(12, o);

  const model = new ProtoMessage()
    .varint(1, ONNX_IR_VERSION)
    .string(2, 'sacbridge')
    .string(3, options.producerVersion)
    .string(6, 'sacbridge deterministic SAC policy: observation -> action in [-1, 1] (tanh of the actor mean); "command" scales it to the plant\'s range')
    .message(7, graph)
    .message(8, new ProtoMessage().string(1, '').varint(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(options.metadata ?? {})) model.message(14, new ProtoMessage().string(1, key).string(2, value));
  return model.finish();
}

/** TensorProto: dims, FLOAT, name, raw_data (little-endian float32, as ONNX specifies). */
function tensor(name: string, dims: number[], values: ArrayLike<number>): ProtoMessage {
  const t = new ProtoMessage();
  for (const d of dims) t.varint(1, d);
  t.varint(2, FLOAT).string(8, name);
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return t.bytes(9, raw);
}

/** ValueInfoProto of a float tensor [batch, size] with a symbolic batch dimension. */
function valueInfo(name: string, size: number): ProtoMessage {
  const shape = new ProtoMessage().message(1, new ProtoMessage().string(2, 'batch')).message(1, new ProtoMessage().varint(1, size));
  const tensorType = new ProtoMessage().varint(1, FLOAT).message(2, shape);
  return new ProtoMessage().string(1, name).message(2, new ProtoMessage().message(1, tensorType));
}

function nodeProto(node: Node, name: string): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of node.inputs) m.string(1, i);
  return m.string(2, node.output).string(3, name).string(4, node.op);
}
