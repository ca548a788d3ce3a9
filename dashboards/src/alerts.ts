/**
 * Alert rules, contact point and notification policy, in Grafana's file-provisioning format
 * (built with the foundation SDK's alerting builders, then laid out as the files expect).
 * The standard figures come from the @bluelight/standards builders, as on the dashboards.
 */
import * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import * as expr from '@grafana/grafana-foundation-sdk/expr';
import { CLICKHOUSE_DATASOURCE, chQuery } from './clickhouse-query.js';
import { AVAILABILITY_STANDARDS } from './dashboards/availability.js';
import { warningLevel } from './dashboards/control-room.js';
import {
  availabilityKpiSql,
  callKpiSql,
  currentVersion,
  incidentKpiSql,
  standard,
  statisticSql,
  targetShare,
} from './kpi-sql.js';
import {
  callsWaitingSql,
  deadLetterRateSql,
  ingestionDelaySql,
  withoutCoverSql,
} from './queries.js';

/** The folder of the alert rules and the dashboards, by title (see folders.ts). */
export const FOLDER = 'Bluelight';
/** Duty managers: e-mail, the control room's chat channel and a webhook (every service's rules). */
export const CONTACT_POINT = 'bluelight-duty-managers';
/** The platform team: chat and webhook (the pipeline's own rules, which no agency owns). */
export const PLATFORM_CONTACT_POINT = 'bluelight-platform';
/**
 * Settings read from Grafana's environment when it loads the files (Grafana expands `$VAR` in
 * contact point settings); docker-compose.yml gives each a default that reaches nothing.
 */
export const WEBHOOK_URL_ENV = 'BLUELIGHT_ALERT_WEBHOOK_URL';
/** A Slack-format incoming webhook (Slack, Mattermost, Rocket.Chat and others accept it). */
export const CHAT_WEBHOOK_URL_ENV = 'BLUELIGHT_ALERT_CHAT_WEBHOOK_URL';
/** Comma- or semicolon-separated addresses; mail is sent once Grafana's SMTP is configured. */
export const EMAIL_ADDRESSES_ENV = 'BLUELIGHT_ALERT_EMAIL_TO';
/**
 * Where docs/ is published (e.g. the repository's docs folder on its Git host): each rule's
 * `runbook_url` is this plus the rule's section of docs/grafana.md. Braced, so Grafana expands it
 * from its environment in annotations.
 */
export const RUNBOOK_BASE_URL_ENV = 'BLUELIGHT_RUNBOOK_BASE_URL';

/** Calls waiting that need a supervisor's attention. */
export const CALLS_WAITING_LIMIT = 5;
/** Seconds without any event written to ClickHouse. */
export const INGESTION_DELAY_LIMIT_SECONDS = 60;

/**
 * Minutes a station ground may be without an appliance free to send before duty managers are
 * told (the control room moves one in on standby well before).
 */
export const NO_COVER_LIMIT_MINUTES = 30;

/** Dead letters per minute (over the rule's 10 minutes) above which the sink needs a look. */
export const DEAD_LETTER_RATE_LIMIT_PER_MINUTE = 0.5;
/** The rolling window of the attendance rules, in days. */
export const ROLLING_DAYS = 28;
/** The page holding each rule's runbook section (what to do when it fires). */
export const RUNBOOK_DOC = 'docs/grafana.md';
/** That page under the runbook base URL (which stands for docs/). */
const RUNBOOK_PAGE = 'grafana.md';

/** Grafana's threshold functions used here; `within_range_included` is `lower ≤ x ≤ upper`. */
type Evaluator = 'gt' | 'lt' | 'within_range_included';

export interface AlertSpec {
  uid: string;
  title: string;
  group: string;
  sql: string;
  /** Seconds before evaluation the query's range starts ($__fromTime). */
  rangeSeconds: number;
  evaluator: Evaluator;
  threshold: number;
  /** The range's upper end, for `within_range_included` (then `threshold` is the lower end). */
  upperThreshold?: number;
  for: string;
  severity: 'critical' | 'warning';
  service: string;
  summary: string;
  description: string;
  /** The heading of the rule's section in docs/grafana.md ("what to do"). */
  runbook: string;
  /** What an evaluation without rows means: OK (e.g. too few calls to judge) or NoData. */
  noData: 'OK' | 'NoData' | 'Alerting';
  /**
   * `agency`: one instance per agency (labelled `agency`, with any other label), so one Grafana
   * serves several services and a notification says whose target was missed. `platform`: the
   * pipeline's own health, whoever's events it carries.
   */
  scope: 'agency' | 'platform';
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to "-". */
export function headingAnchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

/**
 * The `runbook_url` annotation (the one Grafana shows as a link): the configured base URL, the
 * docs page and the rule's section.
 */
export const runbookUrl = (heading: string) =>
  `\${${RUNBOOK_BASE_URL_ENV}}/${RUNBOOK_PAGE}#${headingAnchor(heading)}`;

function required(value: number | undefined, id: string): number {
  if (value === undefined) throw new Error(`standard ${id} has no target`);
  return value;
}

/**
 * An agency's figure of a KPI query per agency (`agency: 'per agency'`): one row (one alert
 * instance) each, none when it is NULL (below the minimum sample).
 */
const byAgency = (statistic: string, sql: string) => `
SELECT agency, value
FROM (
  SELECT agency, ${statistic} AS value
  FROM (${sql}
  )
)
WHERE value IS NOT NULL
ORDER BY agency`;

/** A station's figure of a KPI query per agency and station: one row (one alert instance) each. */
const byStation = (statistic: string, sql: string) => `
SELECT agency, station, value
FROM (
  SELECT agency, CAST(group AS String) AS station, ${statistic} AS value
  FROM (${sql}
  )
)
WHERE value IS NOT NULL
ORDER BY agency, station`;

/** London today and the days of its month after it. */
const TODAY = `toDate($__toTime, 'Europe/London')`;
const REMAINING_DAYS = `dateDiff('day', ${TODAY}, toLastDayOfMonth(${TODAY}))`;

/**
 * The month's attendance standard projected to its last day, per agency and station: the London month so far
 * (met and measured up to now) plus the remaining days at the last 28 days' pace and rate —
 * measured n₂₈ × r / 28 and met met₂₈ × r / 28 for r remaining days — judged by the standard's own
 * statistic and minimum sample (`statisticSql` over the projected counts), so a station that will
 * not reach the minimum sample by the month's end gives no instance.
 */
export function projectedMonthSql(id: string): string {
  const definition = standard(id);
  const monthToDate = incidentKpiSql(definition, 'station', {
    days: { from: `toStartOfMonth(${TODAY})`, to: `(${TODAY} + 1)` },
    instants: true,
    agency: 'per agency',
  });
  const lastDays = incidentKpiSql(definition, 'station', {
    instants: { from: `($__toTime - INTERVAL ${ROLLING_DAYS} DAY)`, to: '$__toTime' },
    agency: 'per agency',
  });
  return `
SELECT agency, station, ${statisticSql(definition)} AS value
FROM (
  SELECT agency, station,
    n_month + n_recent * remaining_days / ${ROLLING_DAYS} AS n,
    met_month + met_recent * remaining_days / ${ROLLING_DAYS} AS met
  FROM (
    SELECT agency, station,
      ifNull(m.n_month, 0) AS n_month, ifNull(m.met_month, 0) AS met_month,
      ifNull(r.n_recent, 0) AS n_recent, ifNull(r.met_recent, 0) AS met_recent,
      ${REMAINING_DAYS} AS remaining_days
    FROM (
      SELECT agency, CAST(group AS String) AS station, n AS n_month, met AS met_month
      FROM (${monthToDate}
      )
    ) AS m
    FULL OUTER JOIN (
      SELECT agency, CAST(group AS String) AS station, n AS n_recent, met AS met_recent
      FROM (${lastDays}
      )
    ) AS r USING (agency, station)
  )
)
WHERE value IS NOT NULL
ORDER BY agency, station
SETTINGS join_use_nulls = 1`;
}

export function alertSpecs(): AlertSpec[] {
  const calls999 = standard('calls-999-answer');
  const target999 = required(targetShare(calls999), calls999.id);
  const attendance = standard('fire-attendance-standard');
  const targetAttendance = required(targetShare(attendance), attendance.id);
  const minimumAttendance = currentVersion(attendance).minimum_sample;
  const onCallId = AVAILABILITY_STANDARDS.on_call;
  const onCall = standard(onCallId);
  const targetOnCall = required(targetShare(onCall), onCallId);
  const sql999 = byAgency(
    statisticSql(calls999),
    callKpiSql(calls999, 'none', { instants: true, agency: 'per agency' }),
  );
  const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;
  return [
    {
      uid: 'bluelight-999-answer-missed',
      title: '999 calls answered within 10 s below target (last hour)',
      group: 'standards',
      sql: sql999,
      rangeSeconds: 3600,
      evaluator: 'lt',
      threshold: target999,
      for: '5m',
      severity: 'critical',
      service: 'calls',
      summary: `Fewer than ${percent(target999)} of {{ .Labels.agency }}'s 999 calls in the last hour were answered within 10 s.`,
      description: `${calls999.name} (${calls999.id}) per agency, over the last hour.`,
      runbook: '999 answering below target',
      noData: 'OK',
      scope: 'agency',
    },
    {
      uid: 'bluelight-999-answer-at-risk',
      title: '999 calls answered within 10 s about to miss target (last hour)',
      group: 'standards',
      sql: sql999,
      rangeSeconds: 3600,
      // Only while the target is still met: below it the critical rule speaks alone, so a
      // control room gets one alert for one problem.
      evaluator: 'within_range_included',
      threshold: target999,
      upperThreshold: warningLevel(target999),
      for: '5m',
      severity: 'warning',
      service: 'calls',
      summary: `{{ .Labels.agency }}'s 999 answering within 10 s is between ${percent(target999)} and ${percent(warningLevel(target999))} over the last hour: the ${percent(target999)} standard is about to be missed.`,
      description: `${calls999.name} (${calls999.id}) per agency; from target to target + 2 points. Below target the critical rule fires instead.`,
      runbook: '999 answering below target',
      noData: 'OK',
      scope: 'agency',
    },
    {
      uid: 'bluelight-attendance-standard-28d',
      title: `Attendance standard below target at a station (last ${ROLLING_DAYS} days)`,
      group: 'standards',
      sql: byStation(
        statisticSql(attendance),
        incidentKpiSql(attendance, 'station', { instants: true, agency: 'per agency' }),
      ),
      rangeSeconds: ROLLING_DAYS * 86_400,
      evaluator: 'lt',
      threshold: targetAttendance,
      for: '30m',
      severity: 'critical',
      service: 'fire',
      summary: `Fewer than ${percent(targetAttendance)} of life-risk incidents at {{ .Labels.agency }}'s {{ .Labels.station }} met the attendance standard over the last ${ROLLING_DAYS} days.`,
      description: `${attendance.name} (${attendance.id}) per agency and station, incidents whose call came in the last ${ROLLING_DAYS} days; a station with fewer than ${minimumAttendance} measured gives no alert.`,
      runbook: 'Attendance standard below target',
      noData: 'OK',
      scope: 'agency',
    },
    {
      uid: 'bluelight-attendance-projected-miss',
      title: 'Attendance standard projected to miss target this month',
      group: 'standards',
      sql: projectedMonthSql('fire-attendance-standard'),
      rangeSeconds: 31 * 86_400,
      evaluator: 'lt',
      threshold: targetAttendance,
      for: '1h',
      severity: 'warning',
      service: 'fire',
      summary: `At its current pace {{ .Labels.agency }}'s {{ .Labels.station }} ends the month below the ${percent(targetAttendance)} attendance standard.`,
      description: `${attendance.name} (${attendance.id}) per agency and station: the London month so far plus its remaining days at the last ${ROLLING_DAYS} days' rate; no alert below ${minimumAttendance} projected measured incidents.`,
      runbook: 'Attendance standard projected to miss',
      noData: 'OK',
      scope: 'agency',
    },
    {
      uid: 'bluelight-on-call-availability',
      title: 'On-call appliance availability below target at a station (now)',
      group: 'standards',
      sql: byStation(
        statisticSql(onCall),
        availabilityKpiSql(onCall, 'station', { instants: true, agency: 'per agency' }),
      ),
      rangeSeconds: 900,
      evaluator: 'lt',
      threshold: targetOnCall,
      for: '15m',
      severity: 'warning',
      service: 'fire',
      summary: `On-call appliances at {{ .Labels.agency }}'s {{ .Labels.station }} were on the run less than ${percent(targetOnCall)} of the last 15 minutes.`,
      description: `${onCall.name} (${onCallId}) per agency and home station, time-weighted over the last 15 minutes.`,
      runbook: 'On-call availability below target',
      noData: 'OK',
      scope: 'agency',
    },
    {
      uid: 'bluelight-station-without-cover',
      title: 'Station ground without an available appliance',
      group: 'operations',
      // Every station with appliances, 0 while one is free: an instance resolves, not vanishes.
      sql: `
SELECT agency, station, minutes_without
FROM (${withoutCoverSql('per agency')}
)
ORDER BY agency, station`,
      rangeSeconds: 86_400,
      evaluator: 'gt',
      threshold: NO_COVER_LIMIT_MINUTES,
      // The value is already how long: it fires the evaluation after the limit is passed.
      for: '0s',
      severity: 'critical',
      service: 'fire',
      summary: `None of {{ .Labels.agency }}'s {{ .Labels.station }} appliances has been free to send for more than ${NO_COVER_LIMIT_MINUTES} minutes.`,
      description: `Minutes since none of the station's own appliances (home station) was available at the station or on the road — all committed or off the run — per agency and station, from the last day's status changes (a longer run counts as at least that).`,
      runbook: 'Station ground without an available appliance',
      noData: 'OK',
      scope: 'agency',
    },
    {
      uid: 'bluelight-calls-waiting',
      title: 'Calls waiting',
      group: 'operations',
      sql: callsWaitingSql('per agency', false),
      rangeSeconds: 600,
      evaluator: 'gt',
      threshold: CALLS_WAITING_LIMIT,
      for: '1m',
      severity: 'warning',
      service: 'calls',
      summary: `More than ${CALLS_WAITING_LIMIT} of {{ .Labels.agency }}'s calls are waiting to be answered.`,
      description:
        'Calls presented in the last hour and not yet answered, abandoned or closed, per agency (an agency with no call in the last hour has no instance).',
      runbook: 'Calls waiting',
      // No call in the last hour anywhere: nothing is waiting. A stalled feed is the ingestion rule's.
      noData: 'OK',
      scope: 'agency',
    },
    {
      uid: 'bluelight-ingestion-delay',
      title: 'Ingestion stalled',
      group: 'operations',
      sql: ingestionDelaySql(),
      rangeSeconds: 600,
      evaluator: 'gt',
      threshold: INGESTION_DELAY_LIMIT_SECONDS,
      for: '2m',
      severity: 'critical',
      service: 'pipeline',
      summary: `No event has been written to ClickHouse for more than ${INGESTION_DELAY_LIMIT_SECONDS} s.`,
      description:
        'Seconds since the newest row of calls_raw, incidents_raw and resources_raw was ingested.',
      runbook: 'Ingestion stalled',
      noData: 'Alerting',
      scope: 'platform',
    },
    {
      uid: 'bluelight-dead-letters',
      title: 'Dead-letter rate above threshold',
      group: 'operations',
      sql: deadLetterRateSql(),
      rangeSeconds: 600,
      evaluator: 'gt',
      threshold: DEAD_LETTER_RATE_LIMIT_PER_MINUTE,
      for: '0s',
      severity: 'warning',
      service: 'pipeline',
      summary: `Messages from {{ .Labels.topic }} are being dead-lettered at more than ${DEAD_LETTER_RATE_LIMIT_PER_MINUTE} a minute; see \`bluelight dlq\`.`,
      description:
        'Rows of dead_letters per source topic with failed_at in the last 10 minutes, per minute.',
      runbook: 'Dead-letter rate above threshold',
      noData: 'OK',
      scope: 'platform',
    },
  ];
}

function rule(spec: AlertSpec): alerting.Rule {
  return new alerting.RuleBuilder(spec.title)
    .uid(spec.uid)
    .condition('C')
    .withQuery(
      new alerting.QueryBuilder('A')
        .datasourceUid(CLICKHOUSE_DATASOURCE.uid ?? '')
        .relativeTimeRange({ from: spec.rangeSeconds, to: 0 })
        .model(chQuery(spec.sql).refId('A')),
    )
    .withQuery(
      new alerting.QueryBuilder('B')
        .datasourceUid('__expr__')
        .model(
          new expr.TypeReduceBuilder()
            .refId('B')
            .expression('A')
            .reducer('last')
            .settings({ mode: 'dropNN' }),
        ),
    )
    .withQuery(
      new alerting.QueryBuilder('C').datasourceUid('__expr__').model(
        new expr.TypeThresholdBuilder()
          .refId('C')
          .expression('B')
          .conditions([
            {
              evaluator: {
                type: spec.evaluator,
                params:
                  spec.upperThreshold === undefined
                    ? [spec.threshold]
                    : [spec.threshold, spec.upperThreshold],
              },
            },
          ]),
      ),
    )
    .noDataState(spec.noData)
    .execErrState('Error')
    .forDuration(spec.for)
    .labels({ severity: spec.severity, service: spec.service })
    .annotations({
      summary: spec.summary,
      description: spec.description,
      runbook_url: runbookUrl(spec.runbook),
    })
    .build();
}

const GROUP_INTERVALS: Record<string, string> = { standards: '1m', operations: '30s' };

/** Drops the SDK's model helpers and API-only fields; what remains is the file format. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** alerting/rules.yaml: the rule groups. */
export function ruleGroupsFile() {
  const specs = alertSpecs();
  const groups = [...new Set(specs.map((spec) => spec.group))];
  return {
    apiVersion: 1,
    groups: groups.map((name) => {
      // Validates the group with the SDK's builder too.
      new alerting.RuleGroupBuilder(name).interval(60).build();
      return {
        orgId: 1,
        name,
        folder: FOLDER,
        interval: GROUP_INTERVALS[name] ?? '1m',
        rules: specs
          .filter((spec) => spec.group === name)
          .map((spec) => {
            const built = plain(rule(spec));
            return {
              uid: built.uid,
              title: built.title,
              condition: built.condition,
              data: built.data,
              noDataState: built.noDataState,
              execErrState: built.execErrState,
              for: built.for,
              labels: built.labels,
              annotations: built.annotations,
              isPaused: false,
            };
          }),
      };
    }),
  };
}

/** alerting/contact-points.yaml: duty managers (e-mail, chat, webhook) and the platform team. */
export function contactPointsFile() {
  const webhook = (uid: string) => ({
    uid,
    type: 'webhook',
    settings: { url: `$${WEBHOOK_URL_ENV}`, httpMethod: 'POST' },
    disableResolveMessage: false,
  });
  const chat = (uid: string) => ({
    uid,
    type: 'slack',
    settings: {
      url: `$${CHAT_WEBHOOK_URL_ENV}`,
      // Grafana's default Slack title and text templates; the summary names agency and station.
      title: '{{ template "slack.default.title" . }}',
      text: '{{ template "slack.default.text" . }}',
    },
    disableResolveMessage: false,
  });
  return {
    apiVersion: 1,
    contactPoints: [
      {
        orgId: 1,
        name: CONTACT_POINT,
        receivers: [
          {
            uid: 'bluelight-duty-managers-email',
            type: 'email',
            settings: { addresses: `$${EMAIL_ADDRESSES_ENV}`, singleEmail: true },
            disableResolveMessage: false,
          },
          chat('bluelight-duty-managers-chat'),
          webhook('bluelight-duty-managers-webhook'),
        ],
      },
      {
        orgId: 1,
        name: PLATFORM_CONTACT_POINT,
        receivers: [chat('bluelight-platform-chat'), webhook('bluelight-platform-webhook')],
      },
    ],
  };
}

/**
 * alerting/policies.yaml: the pipeline's rules to the platform team; every agency's to its duty
 * managers, one notification per agency and station (never two services' alerts in one, the
 * summary names both), critical ones repeated hourly. To send one agency's or station's alerts to
 * its own people, add a contact point and a route matching its `agency` (and `station`) label
 * above the generic one (docs/grafana.md).
 */
export function policiesFile() {
  const policy = plain(
    new alerting.NotificationPolicyBuilder()
      .receiver(CONTACT_POINT)
      .groupBy(['grafana_folder', 'alertname', 'service', 'agency', 'station'])
      .groupWait('30s')
      .groupInterval('5m')
      .repeatInterval('4h')
      .routes([
        new alerting.NotificationPolicyBuilder()
          .receiver(PLATFORM_CONTACT_POINT)
          .objectMatchers([['service', '=', 'pipeline']])
          .groupBy(['grafana_folder', 'alertname', 'topic']),
        new alerting.NotificationPolicyBuilder()
          .receiver(CONTACT_POINT)
          .objectMatchers([['agency', '=~', '.+']])
          .routes([
            new alerting.NotificationPolicyBuilder()
              .receiver(CONTACT_POINT)
              .objectMatchers([['severity', '=', 'critical']])
              .groupWait('10s')
              .repeatInterval('1h'),
          ]),
      ])
      .build(),
  );
  return { apiVersion: 1, policies: [{ orgId: 1, ...policy }] };
}
