import {useEffect, useState} from 'react';
import {Text} from 'ink';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A small braille spinner followed by `label`. */
export function Spinner({label}: {label: string}) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => {
      setFrame((n) => (n + 1) % FRAMES.length);
    }, 100);
    return () => {
      clearInterval(timer);
    };
  }, []);
  return (
    <Text wrap="truncate-end">
      <Text color="cyan">{FRAMES[frame]}</Text> {label}
    </Text>
  );
}
