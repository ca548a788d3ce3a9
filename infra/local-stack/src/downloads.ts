import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { infraLocalDir, localHome } from './paths.js';
import { checkPrerequisite } from './prerequisites.js';
import { runCommand } from './run-command.js';

/** The Apache Kafka release the local stack runs (the newest 4.x on Maven Central). */
export const KAFKA_VERSION = '4.4.0';

/** Progress lines for a person watching a first-time set-up. */
export type ProgressReporter = (line: string) => void;

export function kafkaLibsDir(version = KAFKA_VERSION): string {
  return path.join(localHome(), 'cache', `kafka-${version}`, 'libs');
}

/**
 * Fetches the Kafka broker and its runtime dependencies from Maven Central into the cache, once.
 * A marker file written last makes an interrupted download start again rather than run half a broker.
 */
export async function ensureKafkaJars(report: ProgressReporter, version = KAFKA_VERSION) {
  const libs = kafkaLibsDir(version);
  const marker = path.join(libs, '.complete');
  if (existsSync(marker)) return libs;

  await checkPrerequisite('java');
  await checkPrerequisite('mvn');
  report(`Fetching Apache Kafka ${version} from Maven Central into ${libs} …`);
  await rm(libs, { recursive: true, force: true });
  await mkdir(libs, { recursive: true });
  let downloaded = 0;
  await runCommand(
    'mvn',
    [
      '-B',
      '-f',
      path.join(infraLocalDir, 'kafka', 'pom.xml'),
      `-Dkafka.version=${version}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libs}`,
      '-DincludeScope=runtime',
    ],
    {
      onLine: (line) => {
        const match = /Downloaded from [^:]+: \S+\/([^/\s]+\.jar) \(([^)]+)\)/.exec(line);
        if (match) {
          downloaded += 1;
          report(`  [${downloaded}] ${match[1]} (${match[2]})`);
        }
      },
    },
  );
  const jars = (await readdir(libs)).filter((name) => name.endsWith('.jar'));
  if (!jars.some((name) => name.startsWith(`kafka_2.13-${version}`))) {
    throw new Error(`Maven finished but ${libs} holds no kafka_2.13-${version}.jar`);
  }
  await writeFile(marker, `${jars.sort().join('\n')}\n`);
  report(`Kafka ${version}: ${jars.length} jars ready.`);
  return libs;
}

export const clickhouseServerDir = path.join(infraLocalDir, 'clickhouse');

export function venvDir(): string {
  return path.join(localHome(), 'venv');
}

export function venvPython(): string {
  return path.join(venvDir(), 'bin', 'python');
}

/**
 * Creates the project's Python virtualenv with chDB and the HTTP server's dependencies. It is
 * rebuilt when requirements.txt changes (its hash is kept beside the venv).
 */
export async function ensurePythonEnv(report: ProgressReporter): Promise<string> {
  const requirements = path.join(clickhouseServerDir, 'requirements.txt');
  const wanted = createHash('sha256')
    .update(await readFile(requirements))
    .digest('hex');
  const marker = path.join(venvDir(), '.bluelight-requirements.sha256');
  // A venv whose interpreter vanished (python3 uninstalled) is rebuilt, which checks python3.
  if (
    existsSync(marker) &&
    existsSync(venvPython()) &&
    (await readFile(marker, 'utf8')).trim() === wanted
  ) {
    return venvPython();
  }

  await checkPrerequisite('python3');
  report(`Creating the Python environment for the ClickHouse engine (chDB) in ${venvDir()} …`);
  await rm(venvDir(), { recursive: true, force: true });
  await runCommand('python3', ['-m', 'venv', venvDir()], { onLine: report });
  await runCommand(
    venvPython(),
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--progress-bar',
      'off',
      '-r',
      requirements,
    ],
    {
      onLine: (line) => {
        if (/^(Collecting|Downloading|Installing|Successfully)/.test(line.trim())) {
          report(`  ${line.trim()}`);
        }
      },
    },
  );
  await writeFile(marker, `${wanted}\n`);
  report('Python environment ready.');
  return venvPython();
}
