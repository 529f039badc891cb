-- Audit entries matching the filters (a null filter matches all), newest first, below the cursor.
-- $1 text actor  $2 text action (exact)  $3 text action prefix  $4 text target  $5 text outcome  $6 text via
-- $7 text request id  $8 bigint since ms (inclusive)  $9 bigint until ms (exclusive)
-- $10 bigint cursor ms  $11 text cursor id (both null: from the newest)  $12 int limit
-- returns entry jsonb, at_ms bigint, id text
SELECT entry FROM {schema}.conveyor_audit
 WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR starts_with(action, $3))
   AND ($4::text IS NULL OR target = $4) AND ($5::text IS NULL OR outcome = $5) AND ($6::text IS NULL OR via = $6)
   AND ($7::text IS NULL OR request_id = $7) AND ($8::bigint IS NULL OR at_ms >= $8) AND ($9::bigint IS NULL OR at_ms < $9)
   AND ($10::bigint IS NULL OR (at_ms, id) < ($10, $11::text))
 ORDER BY at_ms DESC, id DESC LIMIT $12
