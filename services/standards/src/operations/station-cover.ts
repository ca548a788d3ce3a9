/**
 * Station cover from the appliances' status intervals: how many of a station's appliances were in
 * a given state after each status change, and which stations have no appliance free to send now
 * (and since when). Written over any source of availability intervals (`resourceIntervalsSql`'s
 * columns), so the query API's figures and the dashboards' panels and alert rule read the same SQL.
 */

/** An appliance that can be sent: free at its station or on the road (not committed, not off the run). */
export const FREE_TO_SEND = `status IN ('available_at_station', 'available_mobile')`;

/**
 * Each station's count over time: at every status change of one of its appliances (and at each
 * one's last change before the intervals' period), how many of its appliances then satisfied
 * `counted` — a running sum of each change's +1 / −1 / 0, the station as of each change. One row
 * per (agency, station, instant) — of several changes at one instant, the state after all — with
 * columns `agency`, `station`, `at`, `counted` and, with `knownFrom`, the latest of the station's
 * appliances' first instants in the source (`known_from`: before it, an appliance's state is not
 * in the source, so the count is not known).
 */
export function stationCountTimelineSql(
  intervals: string,
  counted: string,
  knownFrom = false,
): string {
  const first = knownFrom
    ? ', min(start_at) OVER (PARTITION BY agency, resource_id) AS first_at'
    : '';
  return `
    SELECT agency, home_station AS station, start_at AS at,
      argMax(running, (toUInt64(rank_in_instant))) AS counted${knownFrom ? ',\n      max(first_at) AS known_from' : ''}
    FROM (
      SELECT agency, home_station, start_at${knownFrom ? ', first_at' : ''},
        row_number() OVER (PARTITION BY agency, home_station, start_at ORDER BY resource_id) AS rank_in_instant,
        sum(delta) OVER (
          PARTITION BY agency, home_station ORDER BY start_at, resource_id ROWS UNBOUNDED PRECEDING
        ) AS running
      FROM (
        SELECT agency, home_station, resource_id, start_at${first},
          toInt32(${counted}) - toInt32(lagInFrame(toUInt8(${counted}), 1, 0) OVER (
            PARTITION BY agency, resource_id ORDER BY start_at
            ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)) AS delta
        FROM (${intervals})
      )
    )
    GROUP BY agency, home_station, start_at`;
}

/**
 * Every station with appliances in `intervals` at the instant `now` (SQL): `free_now`, how many
 * of its appliances are free to send (`FREE_TO_SEND`); when none, `without_since`, the change
 * after which none was, and `minutes_without`, the time since then (elapsed time, so a night the
 * clocks change counts its real hour more or less), else 0. A run of no cover that began before
 * every appliance's state is known (`known_from`) is counted from then: at least that long.
 * `intervals` must reach back far enough for the runs to be measured (the alert rule's window).
 * Columns: agency (String), station, free_now, without_since (NULL when covered), minutes_without.
 */
export function stationsWithoutCoverSql(intervals: string, now: string): string {
  return `
    SELECT CAST(agency AS String) AS agency, CAST(station AS String) AS station,
      argMax(counted, at) AS free_now,
      if(free_now = 0, greatest(minIf(at, counted = 0 AND at > last_free_at), max(known_from)), NULL) AS without_since,
      if(free_now = 0, dateDiff('millisecond', assumeNotNull(without_since), ${now}) / 60000, 0) AS minutes_without
    FROM (
      SELECT *, maxIf(at, counted > 0) OVER (PARTITION BY agency, station) AS last_free_at
      FROM (${stationCountTimelineSql(intervals, FREE_TO_SEND, true)})
      WHERE at <= ${now}
    )
    GROUP BY agency, station`;
}
