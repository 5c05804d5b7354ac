-- A camera's offline alert walks the engine's lifecycle like any rule (SPEC §6): a lost stream
-- opens camera_offline only after a grace period (a reconnect within it — a one-second RTSP
-- hiccup, a file source looping — pages nobody), and a regained one resolves it only after a
-- clear delay (a flapping stream keeps one alert open).
ALTER TABLE cameras ADD COLUMN offline_for_seconds double precision NOT NULL DEFAULT 10
  CHECK (offline_for_seconds >= 0 AND offline_for_seconds <= 86400);
ALTER TABLE cameras ADD COLUMN offline_clear_seconds double precision NOT NULL DEFAULT 5
  CHECK (offline_clear_seconds >= 0 AND offline_clear_seconds <= 86400);
