import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Attribute values an ONNX node takes here: ints, floats, their lists, and strings. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function attribute(name: string, value: AttrValue): InstanceType<typeof onnx.AttributeProto> {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string')
    return onnx.AttributeProto.create({ name, type: A.STRING, s: Buffer.from(value) });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: value });
  if (typeof value === 'number') return onnx.AttributeProto.create({ name, type: A.INT, i: value });
  if ('float' in value) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: value.float });
  return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: value.floats });
}

function valueInfo(
  name: string,
  shape: readonly (number | string)[],
): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/**
 * Builds an ONNX model in code: the project's detectors are small graphs of fixed operations
 * written here, so nothing is trained or downloaded. Float32 graphs only (what the detector
 * contract needs); int64 initialisers for shape operands.
 */
export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private seq = 0;

  constructor(
    private readonly graphName: string,
    private readonly opset = 17,
  ) {}

  input(name: string, shape: readonly (number | string)[]): string {
    this.inputs.push(valueInfo(name, shape));
    return name;
  }

  output(name: string, shape: readonly (number | string)[]): void {
    this.outputs.push(valueInfo(name, shape));
  }

  /** A float32 constant tensor; `values` of length 1 with dims [] is a scalar. */
  floats(dims: readonly number[], values: ArrayLike<number>, prefix = 'c'): string {
    const name = `${prefix}_${this.seq++}`;
    const data = Float32Array.from(values);
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [...dims],
        dataType: FLOAT,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    );
    return name;
  }

  scalar(value: number): string {
    return this.floats([], [value], 's');
  }

  ints(values: readonly number[]): string {
    const name = `i_${this.seq++}`;
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [values.length],
        dataType: INT64,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    );
    return name;
  }

  /** Adds a node and returns the name of its output. */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    outName?: string,
  ): string {
    return this.opN(opType, inputs, 1, attrs, outName ? [outName] : undefined)[0]!;
  }

  /** Adds a node with `count` outputs (Split, say) and returns their names. */
  opN(
    opType: string,
    inputs: readonly string[],
    count: number,
    attrs: Record<string, AttrValue> = {},
    outNames?: readonly string[],
  ): string[] {
    const outs = outNames
      ? [...outNames]
      : Array.from({ length: count }, () => `${opType.toLowerCase()}_${this.seq++}`);
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: `${opType}_${this.seq++}`,
        input: [...inputs],
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }

  /** Serialised ModelProto bytes, ready for `InferenceSession.create(bytes)` or a file. */
  build(docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'vigil',
      docString,
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
