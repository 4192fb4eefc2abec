const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Names of the `${VAR}` references in a string. */
export function envReferences(text: string): string[] {
  return [...text.matchAll(REFERENCE)].map((m) => m[1]!);
}

/**
 * Replaces `${VAR}` with the variable's value. Done at call time, so secrets stay in this
 * process: the published definition (in Redis) keeps the reference, never the value.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(REFERENCE, (_, name: string) => env[name] ?? '');
}

/** The variables a call refers to (in its url, path, headers or body) that `env` lacks, in order, once each. */
export function missingEnvOf(texts: Array<string | undefined>, env: NodeJS.ProcessEnv): string[] {
  const missing = new Set<string>();
  for (const text of texts) for (const name of envReferences(text ?? '')) if (env[name] === undefined) missing.add(name);
  return [...missing];
}
