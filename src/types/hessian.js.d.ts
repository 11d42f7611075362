// Narrow ambient types for the parts of npm `hessian.js` (CommonJS, ships no types) that we call.
// Import it as `import hessian from 'hessian.js'` and destructure: the package is CommonJS.
declare module 'hessian.js' {
  namespace hessian {
    /** `{$class: 'com.foo.Bar', $: {...}}` is how hessian.js names a Java type for a value. */
    interface JavaValue {
      $class: string;
      $: unknown;
    }
    interface ByteBuffer {
      position(): number;
      position(offset: number): ByteBuffer;
      limit(): number;
      get(): number;
      get(index: number): number;
    }
    class EncoderV2 {
      constructor(options?: {size?: number});
      byteBuffer: ByteBuffer;
      write(value: unknown): this;
      writeNull(): this;
      writeBool(value: boolean): this;
      writeInt(value: number): this;
      writeLong(value: number | string): this;
      writeDouble(value: number): this;
      writeDate(value: Date | number): this;
      writeBytes(value: Buffer): this;
      writeString(value: string): this;
      writeObject(value: unknown): this;
      writeMap(value: unknown): this;
      writeArray(value: unknown): this;
      writeType(type: string): this;
      get(): Buffer;
      reset(): this;
      clean(): this;
    }
    class DecoderV2 {
      constructor(buf?: Buffer, classCache?: unknown);
      byteBuffer: ByteBuffer;
      init(buf: Buffer): this;
      clean(): this;
      read(withType?: boolean): unknown;
      readNull(): null;
      readBool(): boolean;
      readInt(): number;
      readLong(): number | string;
      readDouble(): number;
      readString(): string;
      readBytes(): Buffer;
      readObject(withType?: boolean): unknown;
      readMap(withType?: boolean): unknown;
      readArray(withType?: boolean): unknown;
    }
    function encode(value: unknown, version?: '1.0' | '2.0'): Buffer;
    function decode(buf: Buffer, version?: '1.0' | '2.0', options?: {withType?: boolean; classCache?: unknown} | boolean): unknown;
    function registerDecodeHandler(className: string, handler: (value: unknown) => unknown): void;
    function deregisterDecodeHandler(className: string): void;
  }
  export = hessian;
}
