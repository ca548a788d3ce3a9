/**
 * Alert rules, contact point and notification policy, in Grafana's file-provisioning format
 * (built with the foundation SDK's alerting builders, then laid out as the files expect).
 * The standard figures come from the @bluelight/standards builders, as on the dashboards.
 */
import * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import * as expr from '@grafana/grafana-foundation-sdk/expr';
import { CLICKHOUSE_DATASOURCE, chQuery } from './clickhouse-query.js';
import { AVAILABILITY_STANDARDS, availabilityFigureSql } from './dashboards/availability.js';
import { standardFigureSql, warningLevel } from './dashboards/control-room.js';
import { callKpiSql, incidentKpiSql, standard, targetShare } from './kpi-sql.js';
import { callsWaitingSql, deadLettersSql, ingestionDelaySql } from './queries.js';

export const FOLDER = 'Bluelight';
export const CONTACT_POINT = 'bluelight-webhook';
/** The webhook URL is read from Grafana's environment when it loads the file. */
export const WEBHOOK_URL_ENV = 'BLUELIGHT_ALERT_WEBHOOK_URL';

/** Calls waiting that need a supervisor's attention. */
export const CALLS_WAITING_LIMIT = 5;
/** Seconds without any event written to ClickHouse. */
export const INGESTION_DELAY_LIMIT_SECONDS = 60;

type Evaluator = 'gt' | 'lt';

export interface AlertSpec {
  uid: string;
  title: string;
  group: string;
  sql: string;
  /** Seconds before evaluation the query's range starts ($__fromTime). */
  rangeSeconds: number;
  evaluator: Evaluator;
  threshold: number;
  for: string;
  severity: 'critical' | 'warning';
  service: string;
  summary: string;
  description: string;
  /** What an evaluation without rows means: OK (e.g. too few calls to judge) or NoData. */
  noData: 'OK' | 'NoData' | 'Alerting';
}

function required(value: number | undefined, id: string): number {
  if (value === undefined) throw new Error(`standard ${id} has no target`);
  return value;
}

/** A standard's figure for an alert: no row when it is NULL (below the minimum sample). */
const judged = (sql: string) => `SELECT value FROM (${sql}\n)\nWHERE value IS NOT NULL`;

export function alertSpecs(): AlertSpec[] {
  const calls999 = standard('calls-999-answer');
  const target999 = required(targetShare(calls999), calls999.id);
  const attendance = standard('fire-attendance-standard');
  const targetAttendance = required(targetShare(attendance), attendance.id);
  const onCallId = AVAILABILITY_STANDARDS.on_call;
  const targetOnCall = required(targetShare(standard(onCallId)), onCallId);
  const sql999 = judged(
    standardFigureSql('calls-999-answer', callKpiSql(calls999, 'none', { instants: true })),
  );
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
      summary: `Fewer than ${target999 * 100}% of 999 calls in the last hour were answered within 10 s.`,
      description: `${calls999.name} (${calls999.id}), over the last hour.`,
      noData: 'OK',
    },
    {
      uid: 'bluelight-999-answer-at-risk',
      title: '999 calls answered within 10 s about to miss target (last hour)',
      group: 'standards',
      sql: sql999,
      rangeSeconds: 3600,
      evaluator: 'lt',
      threshold: warningLevel(target999),
      for: '5m',
      severity: 'warning',
      service: 'calls',
      summary: `999 answering within 10 s is below ${Math.round(warningLevel(target999) * 1000) / 10}% over the last hour: the ${target999 * 100}% standard is about to be missed.`,
      description: `${calls999.name} (${calls999.id}); fires together with the critical rule once below target.`,
      noData: 'OK',
    },
    {
      uid: 'bluelight-attendance-standard-7d',
      title: 'Attendance standard below target (last 7 days)',
      group: 'standards',
      sql: judged(
        standardFigureSql(
          'fire-attendance-standard',
          incidentKpiSql(attendance, 'none', { instants: true }),
        ),
      ),
      rangeSeconds: 7 * 86_400,
      evaluator: 'lt',
      threshold: targetAttendance,
      for: '30m',
      severity: 'critical',
      service: 'fire',
      summary: `Fewer than ${targetAttendance * 100}% of life-risk incidents in the last 7 days met the attendance standard.`,
      description: `${attendance.name} (${attendance.id}), incidents whose call came in the last 7 days.`,
      noData: 'OK',
    },
    {
      uid: 'bluelight-on-call-availability',
      title: 'On-call appliance availability below target (now)',
      group: 'standards',
      sql: `SELECT value FROM (${availabilityFigureSql(onCallId, { instants: true })}\n)\nWHERE value IS NOT NULL`,
      rangeSeconds: 900,
      evaluator: 'lt',
      threshold: targetOnCall,
      for: '15m',
      severity: 'warning',
      service: 'fire',
      summary: `On-call appliances were on the run less than ${targetOnCall * 100}% of the last 15 minutes.`,
      description: `${standard(onCallId).name} (${onCallId}), time-weighted over the last 15 minutes.`,
      noData: 'OK',
    },
    {
      uid: 'bluelight-calls-waiting',
      title: 'Calls waiting',
      group: 'operations',
      sql: callsWaitingSql(false),
      rangeSeconds: 600,
      evaluator: 'gt',
      threshold: CALLS_WAITING_LIMIT,
      for: '1m',
      severity: 'warning',
      service: 'calls',
      summary: `More than ${CALLS_WAITING_LIMIT} calls are waiting to be answered.`,
      description: 'Calls presented in the last hour and not yet answered, abandoned or closed.',
      noData: 'NoData',
    },
    {
      uid: 'bluelight-ingestion-delay',
      title: 'Ingestion delayed',
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
      noData: 'Alerting',
    },
    {
      uid: 'bluelight-dead-letters',
      title: 'Messages dead-lettered',
      group: 'operations',
      sql: deadLettersSql(),
      rangeSeconds: 600,
      evaluator: 'gt',
      threshold: 0,
      for: '0s',
      severity: 'warning',
      service: 'pipeline',
      summary: 'The sink refused messages in the last 10 minutes; see `bluelight dlq`.',
      description: 'Rows of dead_letters with failed_at in the last 10 minutes.',
      noData: 'NoData',
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
          .conditions([{ evaluator: { type: spec.evaluator, params: [spec.threshold] } }]),
      ),
    )
    .noDataState(spec.noData)
    .execErrState('Error')
    .forDuration(spec.for)
    .labels({ severity: spec.severity, service: spec.service })
    .annotations({ summary: spec.summary, description: spec.description })
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

/** alerting/contact-points.yaml: one webhook, its URL from the environment. */
export function contactPointsFile() {
  const point = plain(
    new alerting.ContactPointBuilder()
      .name(CONTACT_POINT)
      .uid('bluelight-webhook')
      .type('webhook')
      .settings({ url: `$${WEBHOOK_URL_ENV}`, httpMethod: 'POST' })
      .disableResolveMessage(false)
      .build(),
  );
  return {
    apiVersion: 1,
    contactPoints: [
      {
        orgId: 1,
        name: point.name,
        receivers: [
          {
            uid: point.uid,
            type: point.type,
            settings: point.settings,
            disableResolveMessage: point.disableResolveMessage,
          },
        ],
      },
    ],
  };
}

/** alerting/policies.yaml: everything to the webhook, grouped by rule and service. */
export function policiesFile() {
  const policy = plain(
    new alerting.NotificationPolicyBuilder()
      .receiver(CONTACT_POINT)
      .groupBy(['grafana_folder', 'alertname', 'service'])
      .groupWait('30s')
      .groupInterval('5m')
      .repeatInterval('4h')
      .routes([
        new alerting.NotificationPolicyBuilder()
          .receiver(CONTACT_POINT)
          .objectMatchers([['severity', '=', 'critical']])
          .groupWait('10s')
          .repeatInterval('1h'),
      ])
      .build(),
  );
  return { apiVersion: 1, policies: [{ orgId: 1, ...policy }] };
}
