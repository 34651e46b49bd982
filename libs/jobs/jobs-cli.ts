import { commonEnvSchema, type CommonEnv } from '../config/env.js';
import { loadEnvOrExit } from '../lifecycle/run-services.js';
import { createWorkerConnection } from '../redis/connection.js';
import { jobCatalog } from './catalog.js';
import { createQueue } from './queues.js';

const USAGE = `usage: npm run jobs -- <command>
  counts                 jobs per queue and state
  failed [limit]         the most recent failed jobs (default 20): id, name, attempts, reason
  retry-failed [queue]   move failed jobs back to waiting (all queues, or one); their bodies are still in Redis`;

/** Operator commands over the job queues, for when something needs a hand: inspect, and re-run what failed. */
export async function runJobsCommand(args: string[], env: Pick<CommonEnv, 'REDIS_URL' | 'QUEUE_PREFIX'>, print: (line: string) => void): Promise<number> {
  const [command, argument] = args;
  const queueNames = [...new Set(Object.values(jobCatalog).map((definition) => definition.queue))];
  const redis = createWorkerConnection(env.REDIS_URL, 'hikhub-jobs-cli');
  const queues = queueNames.map((name) => createQueue(name, redis, env.QUEUE_PREFIX));
  try {
    switch (command) {
      case 'counts':
        for (const queue of queues) {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
          print(`${queue.name}: ${Object.entries(counts).map(([state, n]) => `${state}=${n}`).join(' ')}`);
        }
        return 0;
      case 'failed': {
        const limit = Number(argument ?? 20);
        for (const queue of queues) {
          for (const job of await queue.getFailed(0, limit - 1)) {
            print(`${queue.name} ${job.id} ${job.name} attempts=${job.attemptsMade} failed_at=${new Date(job.finishedOn ?? 0).toISOString()} ${job.failedReason}`);
          }
        }
        return 0;
      }
      case 'retry-failed': {
        for (const queue of queues.filter((q) => !argument || q.name === argument)) {
          const before = (await queue.getJobCounts('failed')).failed ?? 0;
          await queue.retryJobs({ state: 'failed', count: 1000 });
          print(`${queue.name}: ${before} failed job(s) moved back to waiting`);
        }
        return 0;
      }
      default:
        print(USAGE);
        return command ? 64 : 0;
    }
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
    redis.disconnect();
  }
}

// Run as a command (`node dist/libs/jobs/jobs-cli.js ...`), not when imported by tests.
if (process.argv[1]?.endsWith('jobs-cli.js')) {
  const env = loadEnvOrExit(commonEnvSchema);
  process.exitCode = await runJobsCommand(process.argv.slice(2), env, (line) => process.stdout.write(`${line}\n`));
}
