/** The admin API's wire types, shared by the sidecar's server and the CLI's client. */
export interface TaskSummary {
  name: string;
  schedule: string;
  scope: 'cluster' | 'pod';
  nextFireAt: string | null;
  paused: boolean;
  running: number;
  /** Why this replica runs none of the task's fires (the other replicas do). */
  notRunHere?: string;
  lastOutcome: string | null;
  lastRunAt: string | null;
}

export interface TriggerResponse {
  ran: boolean;
  /** --no-wait: the run was started and the outcome will be in the history. */
  accepted?: boolean;
  reason?: 'overlap';
  outcome?: 'success' | 'failure' | 'timeout';
  status?: number;
  durationMs?: number;
  replica?: string;
  attempt?: number;
  scheduledAt?: string;
  error?: string;
}

export interface ErrorResponse {
  error: string;
  code: string;
}

export const DEFAULT_ADMIN_SOCKET = '/tmp/taskino.sock';
