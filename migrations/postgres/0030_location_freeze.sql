-- Emergency override: dispensing frozen at a location (a row while frozen; removed to thaw).
CREATE TABLE location_freezes (
    location_id TEXT PRIMARY KEY REFERENCES locations(id),
    frozen_at BIGINT NOT NULL,
    frozen_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
