import {Box, Text} from 'ink';
import {DubboTunnelError, errorMessage} from '../../core/errors.js';

/** An error as a person should read it: what went wrong, then the fix (DubboTunnelError.hint). */
export function ErrorNotice({error, title}: {error: unknown; title?: string}) {
  const hint = error instanceof DubboTunnelError ? error.hint : undefined;
  const code = error instanceof DubboTunnelError ? error.code : undefined;
  return (
    <Box flexDirection="column">
      {title === undefined ? null : <Text bold color="red">{title}</Text>}
      <Text color="red">✖ {errorMessage(error)}</Text>
      {hint === undefined ? null : <Text>  fix: {hint}</Text>}
      {code === undefined ? null : <Text dimColor>  ({code})</Text>}
    </Box>
  );
}
