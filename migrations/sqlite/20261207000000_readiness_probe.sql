-- The one row `/readyz` writes: a write that commits shows that this instance's writer
-- can write (the disk has room, the file is writable, no transaction is stuck), which a
-- read cannot show.
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    written_at TEXT NOT NULL
);
