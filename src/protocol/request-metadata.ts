/**
 * What a request peek returns, shared by the hessian2 peek (request-peek.ts) and the fastjson2 one
 * (fastjson2.ts); a file of its own so neither of them imports the other for it.
 */
export type AttachmentValue = string | number | bigint | boolean | null;

export interface RequestMetadata {
  dubboVersion: string;
  service: string;
  serviceVersion: string;
  method: string;
  parameterTypes: string;
  argumentCount: number;
  /** String-keyed attachments with primitive values; complex values (objects, lists, maps) are skipped and left out. */
  attachments: ReadonlyMap<string, AttachmentValue>;
  /** false when the attachments could not be read (e.g. fastjson2 whose JSONB map is not understood); service/method may then be '' if unknown. */
  attachmentsRead: boolean;
}
