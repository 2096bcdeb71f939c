"""The store's schema as numbered migrations (``PRAGMA user_version`` is the version).

Privacy: ``patients.local_id`` (the clinic's own identifier) lives only in this local
file; everything that leaves the gateway uses ``patients.pseudonym``. Raw captures
keep the bytes and their SHA-256, never the uploaded file's name (names of exports
often carry the patient's name).
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the foundation schema.
    """
    CREATE TABLE patients (
        id          INTEGER PRIMARY KEY,
        local_id    TEXT NOT NULL UNIQUE,
        pseudonym   TEXT NOT NULL UNIQUE,
        tz          TEXT NOT NULL
    );
    CREATE TABLE devices (
        device_id   TEXT PRIMARY KEY,
        patient_id  INTEGER NOT NULL REFERENCES patients(id),
        description TEXT NOT NULL,
        first_seen_utc TEXT NOT NULL,
        last_seen_utc  TEXT NOT NULL
    );
    CREATE TABLE raw_captures (
        id          INTEGER PRIMARY KEY,
        sha256      TEXT NOT NULL UNIQUE,
        format      TEXT NOT NULL,
        size        INTEGER NOT NULL,
        data        BLOB NOT NULL,
        received_utc TEXT NOT NULL
    );
    CREATE TABLE records (
        id          INTEGER PRIMARY KEY,
        patient_id  INTEGER NOT NULL REFERENCES patients(id),
        device_id   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        source_index TEXT NOT NULL,
        time_utc    TEXT NOT NULL,
        payload     TEXT NOT NULL,
        capture_id  INTEGER REFERENCES raw_captures(id),
        UNIQUE (device_id, kind, source_index)
    );
    CREATE INDEX records_patient_time ON records (patient_id, kind, time_utc);
    CREATE TABLE cursors (
        device_id   TEXT PRIMARY KEY,
        cursor      TEXT NOT NULL,
        updated_utc TEXT NOT NULL
    );
    CREATE TABLE outbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        topic       TEXT NOT NULL,
        payload     TEXT NOT NULL,
        qos         INTEGER NOT NULL,
        retain      INTEGER NOT NULL,
        created_utc TEXT NOT NULL,
        sent_utc    TEXT
    );
    CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_utc IS NULL;
    CREATE TABLE audit (
        id          INTEGER PRIMARY KEY,
        time_utc    TEXT NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        detail      TEXT NOT NULL
    );
    """,
    # 2: care plans received from the care record (the current version per patient).
    """
    CREATE TABLE careplans (
        pseudonym    TEXT PRIMARY KEY,
        version      INTEGER NOT NULL,
        doc          TEXT NOT NULL,
        received_utc TEXT NOT NULL
    );
    """,
    # 3: records that arrived again by another path (gateway/store/crosssource.py):
    # the kept record's other sources.
    """
    CREATE TABLE provenance (
        record_id    INTEGER NOT NULL REFERENCES records(id),
        device_id    TEXT NOT NULL,
        kind         TEXT NOT NULL,
        source_index TEXT NOT NULL,
        capture_id   INTEGER REFERENCES raw_captures(id),
        UNIQUE (device_id, kind, source_index)
    );
    CREATE INDEX provenance_record ON provenance (record_id);
    """,
)
