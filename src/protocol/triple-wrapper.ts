/**
 * Dubbo 3's Triple "wrapper" messages: how a Triple call of a Java interface that is not protobuf
 * (MetadataService, or any plain `interface UserService`) is carried in `application/grpc+proto`.
 * Each argument is serialized on its own (hessian2 by default) and the list is wrapped in a small
 * protobuf message; the answer is one serialized value wrapped the same way.
 * Reference: TripleCustomerProtocolWapper.java and ReflectionPackableMethod.java (dubbo-rpc-triple,
 * Dubbo 3.2): TripleRequestWrapper {1 serializeType, 2 repeated args, 3 repeated argTypes},
 * TripleResponseWrapper {1 serializeType, 2 data, 3 type}, all length-delimited.
 */
import {ProtocolError} from '../core/errors.js';
import {bytesOf, lengthDelimitedField, readFields, stringOf} from './protobuf-wire.js';

/**
 * The serialization name a wrapper carries for hessian2: ReflectionPackableMethod's
 * convertHessianToWrapper writes `hessian4` for Dubbo's `hessian2`, and the provider reads it back.
 */
export const WRAPPER_HESSIAN2 = 'hessian4';

/** The content type of every Triple call in wrapper mode (TripleConstant.CONTENT_PROTO). */
export const TRIPLE_CONTENT_TYPE = 'application/grpc+proto';

export interface TripleRequestWrapper {
  serializeType: string;
  /** One serialized value per parameter. */
  args: readonly Buffer[];
  /** The Java parameter types; the provider picks an overloaded method by them. */
  argTypes: readonly string[];
}

/** Fields in the order TripleRequestWrapper.toByteArray writes them: type, every arg, every arg type. */
export function encodeTripleRequestWrapper(request: TripleRequestWrapper): Buffer {
  return Buffer.concat([
    lengthDelimitedField(1, request.serializeType),
    ...request.args.map((arg) => lengthDelimitedField(2, arg)),
    ...request.argTypes.map((type) => lengthDelimitedField(3, type)),
  ]);
}

/**
 * Reads one TripleRequestWrapper; throws ProtocolError when the message is not one (a call of a
 * protobuf service carries its own message type, which reads as other fields or wire types).
 */
export function decodeTripleRequestWrapper(message: Buffer): TripleRequestWrapper {
  const fields = readFields(message);
  const serializeType = stringOf(fields, 1);
  if (serializeType === undefined || fields.some((field) => field.field > 3 || field.wireType !== 2)) {
    throw new ProtocolError('DT_ERR_BAD_BODY', 'not a Triple wrapper request (TripleRequestWrapper)');
  }
  return {serializeType, args: bytesOf(fields, 2), argTypes: bytesOf(fields, 3).map((bytes) => bytes.toString('utf8'))};
}

export interface TripleResponseWrapper {
  serializeType: string;
  /** The serialized return value; absent for a null answer. */
  data: Buffer | undefined;
  /** The Java class of the return type, as the provider declared it. */
  type: string;
}

/** Reads one TripleResponseWrapper; throws ProtocolError when the message is not one. */
export function decodeTripleResponseWrapper(message: Buffer): TripleResponseWrapper {
  const fields = readFields(message);
  const serializeType = stringOf(fields, 1);
  const type = stringOf(fields, 3);
  // TripleResponseWrapper.parseFrom accepts only fields 1-3, all length-delimited.
  if (serializeType === undefined || type === undefined || fields.some((field) => field.field > 3 || field.wireType !== 2)) {
    throw new ProtocolError('DT_ERR_CALL_BAD_ANSWER', 'not a Triple wrapper answer (TripleResponseWrapper)');
  }
  return {serializeType, data: bytesOf(fields, 2).at(-1), type};
}
