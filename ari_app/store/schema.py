"""The Switchboard schema, versioned as a sqlite-utils ``Migrations`` set.

Conventions (every table follows them; new migrations must too):

* **Timestamps are unix epoch seconds as REAL, in UTC** (``time.time()``), never
  text. They are cheap to compare (``next_attempt_at <= ?``), subtract
  (``answered_at - enqueued_at``) and index; reports render them with
  ``datetime(ts, 'unixepoch')``. Columns ending in ``_at`` and ``ts`` hold them;
  ``*_seconds`` are durations. SQL defaults use the same unit (``_NOW``).
* Tables are ``STRICT``: a ``datetime`` or a dict that slipped past the JSON
  encoding is refused instead of being stored as text nobody can compare.
* JSON lives in TEXT columns guarded by ``json_valid``.
* Phone numbers in ``contacts`` and ``do_not_call`` are E.164 (``+79161234567``);
  ``calls.caller_number`` is whatever the trunk sent (it may be anonymous).
* Operators are referred to by ``login`` text, without a foreign key: operators
  are defined in the YAML config, the ``operators`` table only holds their
  credentials, and history (calls, state log) must outlive a removed operator.
* ``call_events`` is append-only: triggers refuse UPDATE and DELETE.

Migrations are built by ``build_migrations()`` rather than kept in a module-level
object, so that tests (and future code) can extend a fresh set without mutating a
shared one. Each migration runs in a transaction together with its record in
``_sqlite_migrations`` (that is what ``sqlite_utils.Migrations`` does); never edit
a migration once it has shipped, add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATION_SET = "switchboard"

# Unix seconds (ms precision) in SQL; SQLite 3.40 lacks unixepoch('subsec').
_NOW = "(round((julianday('now') - 2440587.5) * 86400.0, 3))"

_E164 = (
    "phone GLOB '+[1-9]*' AND substr(phone, 2) NOT GLOB '*[^0-9]*'"
    " AND length(phone) BETWEEN 3 AND 16"
)

_INITIAL = [
    f"""
    CREATE TABLE operators (
        id            INTEGER PRIMARY KEY,
        login         TEXT NOT NULL UNIQUE,
        name          TEXT,
        extension     TEXT,
        password_hash TEXT,
        disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at    REAL NOT NULL DEFAULT {_NOW},
        updated_at    REAL NOT NULL DEFAULT {_NOW}
    ) STRICT
    """,
    f"""
    CREATE TABLE campaigns (
        id                  INTEGER PRIMARY KEY,
        name                TEXT NOT NULL UNIQUE,
        script              TEXT,
        manager_number      TEXT,
        mode                TEXT NOT NULL DEFAULT 'preview'
                            CHECK (mode IN ('preview', 'progressive')),
        calling_hours_start TEXT CHECK (calling_hours_start GLOB '[0-2][0-9]:[0-5][0-9]'),
        calling_hours_end   TEXT CHECK (calling_hours_end GLOB '[0-2][0-9]:[0-5][0-9]'),
        timezone            TEXT,
        retry_rules         TEXT CHECK (retry_rules IS NULL OR json_valid(retry_rules)),
        max_attempts        INTEGER CHECK (max_attempts >= 0),
        max_call_seconds    INTEGER CHECK (max_call_seconds > 0),
        status              TEXT NOT NULL DEFAULT 'draft',
        created_at          REAL NOT NULL DEFAULT {_NOW}
    ) STRICT
    """,
    f"""
    CREATE TABLE contacts (
        id              INTEGER PRIMARY KEY,
        campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
        phone           TEXT NOT NULL CHECK ({_E164}),
        name            TEXT,
        fields          TEXT CHECK (fields IS NULL OR json_valid(fields)),
        timezone        TEXT,
        status          TEXT NOT NULL DEFAULT 'new',
        attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_at REAL,
        locked_by       TEXT,
        locked_until    REAL,
        own_operator    TEXT,
        imported_from   TEXT,
        line_no         INTEGER,
        created_at      REAL NOT NULL DEFAULT {_NOW},
        UNIQUE (campaign_id, phone)
    ) STRICT
    """,
    f"""
    CREATE TABLE calls (
        id            TEXT PRIMARY KEY NOT NULL,
        direction     TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'callback')),
        queue         TEXT,
        caller_number TEXT,
        caller_name   TEXT,
        contact_id    INTEGER REFERENCES contacts(id),
        operator      TEXT,
        campaign_id   INTEGER REFERENCES campaigns(id),
        state         TEXT NOT NULL DEFAULT 'new',
        outcome       TEXT,
        created_at    REAL NOT NULL DEFAULT {_NOW},
        enqueued_at   REAL,
        offered_at    REAL,
        answered_at   REAL,
        ended_at      REAL,
        wait_seconds  REAL CHECK (wait_seconds >= 0),
        talk_seconds  REAL CHECK (talk_seconds >= 0),
        recording     TEXT,
        ivr_choices   TEXT CHECK (ivr_choices IS NULL OR json_valid(ivr_choices))
    ) STRICT
    """,
    f"""
    CREATE TABLE call_events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL REFERENCES calls(id),
        ts      REAL NOT NULL DEFAULT {_NOW},
        kind    TEXT NOT NULL,
        data    TEXT CHECK (data IS NULL OR json_valid(data))
    ) STRICT
    """,
    f"""
    CREATE TABLE dispositions (
        id         INTEGER PRIMARY KEY,
        call_id    TEXT REFERENCES calls(id),
        contact_id INTEGER REFERENCES contacts(id),
        operator   TEXT,
        code       TEXT NOT NULL,
        notes      TEXT,
        created_at REAL NOT NULL DEFAULT {_NOW}
    ) STRICT
    """,
    f"""
    CREATE TABLE do_not_call (
        phone    TEXT PRIMARY KEY NOT NULL CHECK ({_E164}),
        reason   TEXT,
        added_at REAL NOT NULL DEFAULT {_NOW}
    ) STRICT
    """,
    f"""
    CREATE TABLE operator_state_log (
        id       INTEGER PRIMARY KEY,
        operator TEXT NOT NULL,
        ts       REAL NOT NULL DEFAULT {_NOW},
        state    TEXT NOT NULL,
        reason   TEXT,
        queue    TEXT
    ) STRICT
    """,
    # call_events is the audit trail of every call: refuse edits at the SQL level,
    # whoever holds the connection.
    """
    CREATE TRIGGER call_events_no_update BEFORE UPDATE ON call_events
    BEGIN SELECT RAISE(ABORT, 'call_events is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER call_events_no_delete BEFORE DELETE ON call_events
    BEGIN SELECT RAISE(ABORT, 'call_events is append-only: DELETE refused'); END
    """,
    # Indexes: one per query the server, dialer and reports make. Foreign-key child
    # columns are indexed too, or every parent delete/update scans the child table.
    "CREATE INDEX calls_queue_created ON calls (queue, created_at)",
    "CREATE INDEX calls_operator_created ON calls (operator, created_at)",
    "CREATE INDEX calls_created ON calls (created_at)",
    "CREATE INDEX calls_caller_number ON calls (caller_number, created_at)",
    "CREATE INDEX calls_contact ON calls (contact_id)",
    "CREATE INDEX calls_campaign ON calls (campaign_id, created_at)",
    "CREATE INDEX calls_live ON calls (state) WHERE ended_at IS NULL",
    "CREATE INDEX call_events_call ON call_events (call_id, id)",
    "CREATE INDEX contacts_due ON contacts (campaign_id, status, next_attempt_at)",
    "CREATE INDEX contacts_phone ON contacts (phone)",
    "CREATE INDEX contacts_locked ON contacts (locked_until) WHERE locked_by IS NOT NULL",
    "CREATE INDEX contacts_own_operator ON contacts (own_operator)"
    " WHERE own_operator IS NOT NULL",
    "CREATE INDEX dispositions_call ON dispositions (call_id)",
    "CREATE INDEX dispositions_contact ON dispositions (contact_id)",
    "CREATE INDEX dispositions_operator ON dispositions (operator, created_at)",
    "CREATE INDEX operator_state_log_operator ON operator_state_log (operator, ts)",
    "CREATE INDEX operator_state_log_ts ON operator_state_log (ts)",
]

TABLES = (
    "operators",
    "campaigns",
    "contacts",
    "calls",
    "call_events",
    "dispositions",
    "do_not_call",
    "operator_state_log",
    "invitations",
    "call_notes",
    "imports",
)

# 0002: the operator gateway. One-time invitation codes (only their SHA-256 is kept:
# the codes are long random tokens, so a slow hash adds nothing) and operators' draft
# notes, saved as typed so that a console that reconnects never loses them.
_GATEWAY = [
    f"""
    CREATE TABLE invitations (
        id         INTEGER PRIMARY KEY,
        login      TEXT NOT NULL,
        code_hash  TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL DEFAULT {_NOW},
        expires_at REAL NOT NULL,
        used_at    REAL
    ) STRICT
    """,
    "CREATE INDEX invitations_login ON invitations (login)",
    f"""
    CREATE TABLE call_notes (
        call_id    TEXT PRIMARY KEY NOT NULL REFERENCES calls(id),
        operator   TEXT NOT NULL,
        text       TEXT NOT NULL,
        updated_at REAL NOT NULL DEFAULT {_NOW}
    ) STRICT
    """,
]


# 0003: campaigns. Who may work a campaign and the region its numbers are read in;
# per contact: who entered it (that operator may not dial it), the phone's extension
# kept apart, the last outcome, and the import that brought it. ``imports`` records
# every run of ``switchboard import``: contacts of an import that is not ``done``
# (running, or killed half-way) are invisible to the dialer, exports and reports,
# and the next import of the campaign removes them, so a failed import leaves
# nothing half-done while the server keeps writing (imports commit in chunks and
# never hold the write lock for long).
_CAMPAIGNS = [
    "ALTER TABLE campaigns ADD COLUMN operators TEXT CHECK (operators IS NULL OR json_valid(operators))",
    "ALTER TABLE campaigns ADD COLUMN region TEXT",
    "ALTER TABLE campaigns ADD COLUMN updated_at REAL",
    f"""
    CREATE TABLE imports (
        id          INTEGER PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
        file        TEXT NOT NULL,
        sha256      TEXT,
        state       TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
        pid         INTEGER,
        rows        INTEGER NOT NULL DEFAULT 0,
        imported    INTEGER NOT NULL DEFAULT 0,
        duplicates  INTEGER NOT NULL DEFAULT 0,
        invalid     INTEGER NOT NULL DEFAULT 0,
        do_not_call INTEGER NOT NULL DEFAULT 0,
        started_at  REAL NOT NULL DEFAULT {_NOW},
        finished_at REAL
    ) STRICT
    """,
    "CREATE INDEX imports_campaign ON imports (campaign_id, state)",
    "ALTER TABLE contacts ADD COLUMN import_id INTEGER REFERENCES imports(id)",
    "ALTER TABLE contacts ADD COLUMN entered_by TEXT",
    "ALTER TABLE contacts ADD COLUMN extension TEXT",
    "ALTER TABLE contacts ADD COLUMN last_outcome TEXT",
    "ALTER TABLE contacts ADD COLUMN last_attempt_at REAL",
    "ALTER TABLE contacts ADD COLUMN updated_at REAL",
    "CREATE INDEX contacts_import ON contacts (import_id)",
    "CREATE INDEX dispositions_created ON dispositions (created_at)",
]


# 0004: the dialer looks for the next contact of a campaign per status and time zone,
# asking only for the zones inside calling hours now, so the due index gains the zone
# (ari_app/store/campaign_dialing.py). It replaces contacts_due instead of adding an
# index every import would have to maintain; (campaign_id, status) queries still use it.
_DIALING = [
    "DROP INDEX contacts_due",
    "CREATE INDEX contacts_due ON contacts (campaign_id, status, timezone, next_attempt_at)",
]


# 0005: new contacts are dialled in the file's order, while the importer inserts a
# file's rows in phone order (ids follow the phones): the due index ends with the
# import and the line, so the dialer's seek for never-scheduled contacts walks them
# in (import_id, line_no, id) order with no sort (rowid ends every index), and steps
# around an unfinished import by its id. Replaced, not added, like 0004.
_DIAL_ORDER = [
    "DROP INDEX contacts_due",
    "CREATE INDEX contacts_due ON contacts (campaign_id, status, timezone, next_attempt_at, import_id, line_no)",
]


def build_migrations() -> Migrations:
    """A fresh migration set holding every Switchboard migration, in order."""
    migrations = Migrations(MIGRATION_SET)

    @migrations(name="0001_initial")
    def initial(db: Database) -> None:
        """Create the tables, triggers and indexes of the first release."""
        for statement in _INITIAL:
            db.execute(statement)

    @migrations(name="0002_gateway")
    def gateway(db: Database) -> None:
        """Invitation codes and draft call notes for the operator gateway."""
        for statement in _GATEWAY:
            db.execute(statement)

    @migrations(name="0003_campaigns")
    def campaigns(db: Database) -> None:
        """Campaign operators and region, contact provenance and outcomes, import runs."""
        for statement in _CAMPAIGNS:
            db.execute(statement)

    @migrations(name="0004_dialing")
    def dialing(db: Database) -> None:
        """The due-contacts index by time zone, for the dialer's claims."""
        for statement in _DIALING:
            db.execute(statement)

    @migrations(name="0005_dial_order")
    def dial_order(db: Database) -> None:
        """The due-contacts index in the file's order, for the dialer's claims."""
        for statement in _DIAL_ORDER:
            db.execute(statement)

    return migrations


def apply_migrations(db: Database, migrations: Migrations | None = None) -> list[str]:
    """Apply pending migrations, each in its own transaction; return their names.

    Applying when nothing is pending is a no-op, so this runs on every start.
    """
    migrations = migrations or build_migrations()
    pending = [migration.name for migration in migrations.pending(db)]
    if pending:
        migrations.apply(db)
    return pending
