-- A location's routers (its daily report, its pages) read by index, not by a scan of the fleet.
CREATE INDEX routers_location ON routers(location_id);
