import type { LocalStack } from '@bluelight/local-stack';
import { say } from '../context.js';
import { median, round } from '../stats.js';
import { regionDataset } from './dataset.js';
import { produceYear, runBluelightSink } from './sink.js';

/**
 * Does the sink's cost per unit of work grow with the history already stored? The same simulated
 * year (2023-24, new to every database) is written by the real sink into databases that already
 * hold 1 year and 10 years of one county's history — copies of the base county-year moved back
 * 1 … N years, its appliances the same fleet, every fact derived by the views and merged — with
 * fresh consumer groups, the two sizes alternating, `trials` times each. Compared: the sink's
 * own step time per unit (decode, entity states, raw insert with every view, revisions) and the
 * whole run's wall and CPU time.
 */
export async function historySuite(
  stack: LocalStack,
  options: { baseDatabase: string; histories: number[]; trials: number },
) {
  const year = await produceYear(stack);
  const runs: {
    historyYears: number;
    trial: number;
    database: string;
    historyEvents: number;
    seconds: number;
    eventsPerSecond: number;
    units: number;
    stepSecondsPerUnit: number;
    steps: Record<string, number>;
    cpuSeconds: Record<string, number>;
  }[] = [];
  for (let trial = 0; trial < options.trials; trial += 1) {
    for (const years of options.histories) {
      const history = await regionDataset(stack, options.baseDatabase, {
        counties: 1,
        years,
        firstYear: 1,
      });
      const result = await runBluelightSink(stack, year.prefix, year.events, {
        database: history.database,
      });
      const units = Object.entries(result.steps)
        .filter(([name]) => name.endsWith('_units'))
        .reduce((sum, [, value]) => sum + value, 0);
      const stepSeconds = Object.entries(result.steps)
        .filter(([name]) => !name.endsWith('_units') && !name.endsWith('_messages'))
        .reduce((sum, [, value]) => sum + value, 0);
      const run = {
        historyYears: years,
        trial: trial + 1,
        database: history.database,
        historyEvents: history.events,
        seconds: round(result.seconds),
        eventsPerSecond: result.eventsPerSecond,
        units,
        stepSecondsPerUnit: round(stepSeconds / Math.max(units, 1), 4),
        steps: result.steps,
        cpuSeconds: result.cpuSeconds,
      };
      say(`history ${years} y, trial ${trial + 1}: ${JSON.stringify(run)}`);
      runs.push(run);
    }
  }
  const summary = options.histories.map((years) => {
    const mine = runs.filter((run) => run.historyYears === years);
    return {
      historyYears: years,
      historyEvents: mine[0]?.historyEvents ?? 0,
      medianSeconds: round(median(mine.map((run) => run.seconds))),
      medianStepSecondsPerUnit: round(median(mine.map((run) => run.stepSecondsPerUnit)), 4),
      medianSinkCpuSeconds: round(median(mine.map((run) => run.cpuSeconds.sink ?? 0))),
      medianClickhouseCpuSeconds: round(median(mine.map((run) => run.cpuSeconds.clickhouse ?? 0))),
    };
  });
  const first = summary[0];
  const last = summary.at(-1);
  const ratio = (pick: (row: (typeof summary)[number]) => number) =>
    first && last && pick(first) > 0 ? round(pick(last) / pick(first), 3) : null;
  return {
    suite: 'history',
    what: `the same simulated year (${year.events} events) written by the sink into databases already holding ${options.histories.join(' and ')} years of history, ${options.trials} trial(s) each, alternating`,
    events: year.events,
    runs,
    summary,
    ratios: {
      stepSecondsPerUnit: ratio((row) => row.medianStepSecondsPerUnit),
      seconds: ratio((row) => row.medianSeconds),
      clickhouseCpuSeconds: ratio((row) => row.medianClickhouseCpuSeconds),
    },
    target: { maxRatio: 1.2 },
  };
}
