// Types of recording-lines.mjs for its test (test/bench/recording-lines.test.ts).
export function recordingFiles(file: string): string[];
export function recordingBytes(file: string): number;
export function countRecordedLines(file: string): Promise<number>;
export function recordingSummary(messages: readonly string[]): {written: number; dropped: number} | undefined;
export function recordingVerdict(counts: {answered: number; lines: number; messages: readonly string[]}): {pass: boolean; value: string};
