-- The alerts sink closes an alert provisionally as superseded when a newer alert of its unit
-- and rule key arrives first; when the alert's own resolution arrives later, the supersession
-- is withdrawn, so the timeline ends as an in-order run writes it. The worker may delete
-- exactly that — system `superseded` entries — and no other history: no DELETE grant, a
-- function owned by the definer role instead.
CREATE OR REPLACE FUNCTION alert_withdraw_supersessions(p_alert uuid) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
    WITH gone AS (
      DELETE FROM alert_timeline
       WHERE alert_id = p_alert AND action = 'superseded' AND actor_id IS NULL
       RETURNING 1)
    SELECT count(*)::integer FROM gone
  $$;
GRANT SELECT, DELETE ON alert_timeline TO vigil_definer;
ALTER FUNCTION alert_withdraw_supersessions(uuid) OWNER TO vigil_definer;
REVOKE ALL ON FUNCTION alert_withdraw_supersessions(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION alert_withdraw_supersessions(uuid) TO vigil_worker;
