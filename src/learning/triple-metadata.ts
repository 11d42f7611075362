/**
 * MetadataService over Triple, the way a Dubbo 3.2 consumer calls it on a provider whose protocol is
 * tri: `application/grpc+proto` in wrapper mode, hessian2 inside (src/protocol/triple-wrapper.ts).
 * The return value is the same Hessian object graph as over dubbo://, so it is read by the same
 * readMetadataValue. No sockets.
 */
import hessian from 'hessian.js';
import {WRAPPER_HESSIAN2, decodeTripleResponseWrapper, encodeTripleRequestWrapper} from '../protocol/triple-wrapper.js';
import type {MetadataAnswer, MetadataMethod} from './metadata-service.js';
import {readMetadataValue} from './metadata-service.js';

const {EncoderV2, DecoderV2} = hessian;

/** The request message (no gRPC prefix) of one call; every argument of the methods we call is a String. */
export function encodeTripleMetadataRequest(_method: MetadataMethod, ...args: string[]): Buffer {
  return encodeTripleRequestWrapper({
    serializeType: WRAPPER_HESSIAN2,
    // DefaultMultipleSerialization writes each argument with its own Hessian2ObjectOutput.
    args: args.map((arg) => {
      const encoder = new EncoderV2();
      encoder.writeString(arg);
      return encoder.get();
    }),
    argTypes: args.map(() => 'java.lang.String'),
  });
}

/** Reads one answer message (no gRPC prefix) to a call that ended with grpc-status 0. */
export function decodeTripleMetadataAnswer(method: MetadataMethod, message: Buffer): MetadataAnswer {
  let value: unknown;
  try {
    const wrapper = decodeTripleResponseWrapper(message);
    if (wrapper.serializeType !== WRAPPER_HESSIAN2 && wrapper.serializeType !== 'hessian2') {
      return {kind: 'failed', message: `an answer in ${wrapper.serializeType}, not hessian2`};
    }
    value = wrapper.data === undefined || wrapper.data.length === 0 ? null : new DecoderV2(wrapper.data).read(false);
  } catch (error) {
    return {kind: 'failed', message: `unreadable answer: ${(error as Error).message}`};
  }
  if (value === null) return method === 'serviceName' ? {kind: 'failed', message: 'serviceName() returned null'} : {kind: 'services', keys: [], application: undefined};
  return readMetadataValue(method, value);
}
