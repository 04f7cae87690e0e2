-- The one row `/readyz` writes: a write that commits shows that the database accepts
-- writes (it has disk, it is not a read-only standby), which a read cannot show.
CREATE TABLE readiness_probe (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    written_at TIMESTAMPTZ NOT NULL
);
