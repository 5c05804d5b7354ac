-- Verified maintenance (SPEC §7): the result of the last check of a record — someone present at
-- the unit (its watched camera zone) during the window, the temperature back in the setpoint
-- band within T minutes after it — and when it was found verified. A corrected window or unit
-- makes the old check meaningless: the trigger drops it.
ALTER TABLE maintenance_records ADD COLUMN verification jsonb;
ALTER TABLE maintenance_records ADD COLUMN verified_at timestamptz;

CREATE FUNCTION vigil_maintenance_check_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.window_start IS DISTINCT FROM OLD.window_start OR NEW.window_end IS DISTINCT FROM OLD.window_end
     OR NEW.equipment_id IS DISTINCT FROM OLD.equipment_id THEN
    NEW.verification := NULL;
    NEW.verified_at := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER maintenance_check_stale BEFORE UPDATE ON maintenance_records
  FOR EACH ROW EXECUTE FUNCTION vigil_maintenance_check_stale();
