import { z } from 'zod';

/** The structure of a task file (design §2). Meaning (durations, cron, zones, hosts) is checked after. */
const scalarDuration = z.union([z.string(), z.number()]);

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

export const httpSchema = z.strictObject({
  method: z.string().optional(),
  path: z.string().optional(),
  url: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  expect: z.union([z.number().int(), z.array(z.number().int())]).optional(),
});

const commonFields = {
  timezone: z.string().optional(),
  http: httpSchema.optional(),
  timeout: scalarDuration.optional(),
  retries: z.number().int().optional(),
  deadline: scalarDuration.optional(),
  overlap: z.enum(['skip', 'allow']).optional(),
  scope: z.enum(['cluster', 'pod']).optional(),
  jitter: scalarDuration.optional(),
  paused: z.boolean().optional(),
};

export const defaultsSchema = z.strictObject(commonFields);

export const taskSchema = z.strictObject({
  name: z.string(),
  cron: z.string().optional(),
  every: scalarDuration.optional(),
  at: z.union([z.string(), z.date()]).optional(),
  startAt: z.union([z.string(), z.date()]).optional(),
  endAt: z.union([z.string(), z.date()]).optional(),
  ...commonFields,
});

export const taskFileSchema = z.strictObject({
  defaults: defaultsSchema.optional(),
  tasks: z.array(z.unknown()),
});

export type RawTask = z.infer<typeof taskSchema>;
export type RawDefaults = z.infer<typeof defaultsSchema>;
export type RawHttp = z.infer<typeof httpSchema>;

/** Turns a zod issue into a sentence that says what is allowed. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      return `must be ${article(issue.expected)}${issue.input === undefined ? ' (it is missing)' : `, got ${typeName(issue.input)}`}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(issue.input)}`;
    case 'invalid_union':
      return `has the wrong type (got ${typeName(issue.input)})`;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'a whole number';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
