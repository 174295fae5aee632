-- Chain checkpoints as each agent returned them (it keeps the newest few per chain and one a
-- day). Each is signed by the control-plane key and checked by `mtm-server audit verify`, so a
-- row here can be deleted, never forged; an agent's next answer replaces all of its rows.
CREATE TABLE witnessed_checkpoints (
    witness     TEXT    NOT NULL,
    chain       TEXT    NOT NULL,
    v           INTEGER NOT NULL,
    row_count   INTEGER NOT NULL,
    head_hash   TEXT    NOT NULL,
    signed_at   INTEGER NOT NULL,
    sig         TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (witness, chain, signed_at)
);
