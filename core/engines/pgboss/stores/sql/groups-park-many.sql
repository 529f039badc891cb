-- Park jobs of many groups of a queue in one statement (a bulk enqueue): one conveyor_group_step per group, in
-- group order.
-- $1 text queue, $2 int default concurrency, $3 float8 default rate, $4 text[] groups, $5 uuid[] job ids,
-- $6 float8[] delays ms (parallel), $7 text the channel to NOTIFY
-- returns r jsonb { freed, delays }
SELECT {schema}.conveyor_group_step($1, g.grp, $2, $3, 'park', g.ids, g.delays, $7) AS r
FROM (SELECT u.grp, array_agg(u.id ORDER BY u.k) AS ids, array_agg(u.d ORDER BY u.k) AS delays
      FROM unnest($4::text[], $5::uuid[], $6::float8[]) WITH ORDINALITY AS u(grp, id, d, k) GROUP BY u.grp ORDER BY u.grp) g
