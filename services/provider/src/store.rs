//! The reference provider's database: SQLite (rusqlite, built in), versioned migrations, face
//! templates sealed with ChaCha20-Poly1305 under a key kept in its own file (never in the
//! database), consent records, face-login sessions, stored answers for idempotency, and the
//! audit trail (who, when, what, outcome — never a face).

use booth_provider_client::wire::{Consent, Partition, PersonInfo, FACE_DIM};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库出错: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("模板密钥: {0}")]
    Key(String),
    #[error("模板无法解密 (密钥不符?)")]
    Sealed,
}

/// Each entry moves the schema one version on (`PRAGMA user_version`); never edit one that shipped.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE person (
        id TEXT PRIMARY KEY,
        org TEXT NOT NULL,
        component TEXT NOT NULL,
        name TEXT NOT NULL,
        id_number TEXT NOT NULL,
        phone TEXT NOT NULL,
        unique_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX person_id_number ON person(id_number);
    CREATE TABLE template (
        person_id TEXT NOT NULL REFERENCES person(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        sealed BLOB NOT NULL
    );
    CREATE TABLE consent (
        person_id TEXT NOT NULL REFERENCES person(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        accepted_at INTEGER NOT NULL,
        terminal TEXT NOT NULL
    );
    CREATE TABLE session (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES person(id) ON DELETE CASCADE,
        terminal TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE answer (
        key_id TEXT NOT NULL,
        idem TEXT NOT NULL,
        request TEXT NOT NULL,
        status INTEGER NOT NULL,
        body BLOB NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (key_id, idem)
    );
    CREATE TABLE audit (
        at INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        terminal TEXT NOT NULL,
        action TEXT NOT NULL,
        person_id TEXT NOT NULL,
        outcome TEXT NOT NULL
    );",
    // Payments: wallets, the append-only ledger, trades, refunds and one-time face codes. Money
    // is integer fen; a wallet's balance always equals the sum of its ledger entries' deltas.
    "CREATE TABLE wallet (
        person_id TEXT PRIMARY KEY,
        balance INTEGER NOT NULL CHECK (balance >= 0),
        member_code_hash TEXT UNIQUE,
        code_issued_at INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        person_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('TOPUP', 'CHARGE', 'REFUND')),
        amount INTEGER NOT NULL CHECK (amount > 0),
        delta INTEGER NOT NULL,
        balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
        key_id TEXT NOT NULL,
        terminal TEXT NOT NULL,
        trade_no TEXT NOT NULL,
        out_trade_no TEXT NOT NULL,
        out_refund_no TEXT NOT NULL,
        note TEXT NOT NULL
    );
    CREATE INDEX ledger_at ON ledger(at);
    CREATE INDEX ledger_person ON ledger(person_id);
    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TABLE trade (
        out_trade_no TEXT PRIMARY KEY,
        trade_no TEXT NOT NULL,
        key_id TEXT NOT NULL,
        terminal TEXT NOT NULL,
        person_id TEXT NOT NULL,
        method TEXT NOT NULL,
        description TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        refunded INTEGER NOT NULL CHECK (refunded >= 0 AND refunded <= amount),
        status TEXT NOT NULL,
        face_code_hash TEXT NOT NULL,
        paid_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE refund (
        out_refund_no TEXT PRIMARY KEY,
        refund_no TEXT NOT NULL,
        out_trade_no TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount > 0),
        reason TEXT NOT NULL,
        key_id TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE TABLE face_code (
        code_hash TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        terminal TEXT NOT NULL,
        cap INTEGER NOT NULL,
        out_trade_no TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_by TEXT NOT NULL DEFAULT ''
    );",
    // Certifications (`/v1/certify/*`), so that a restart of the provider keeps them (certify.rs).
    "CREATE TABLE certification (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        terminal TEXT NOT NULL,
        cert_no TEXT NOT NULL,
        return_url TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        frames INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        error_code TEXT NOT NULL DEFAULT '',
        person_id TEXT NOT NULL DEFAULT '',
        score REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX certification_expires ON certification(expires_at);",
];

/// How long a stored answer replays for a repeated Idempotency-Key.
pub const ANSWER_TTL_S: i64 = 24 * 3600;

pub struct Store {
    db: Mutex<Connection>,
    cipher: ChaCha20Poly1305,
}

/// An enrolled person without anything biometric (export, list).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: String,
    pub org_out_id: String,
    pub component_out_id: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub unique_id: String,
    pub created_at: i64,
    pub templates: usize,
    pub consents: Vec<Consent>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub at: i64,
    pub key_id: String,
    pub terminal: String,
    pub action: String,
    pub person_id: String,
    pub outcome: String,
}

/// A stored answer for an Idempotency-Key.
pub struct StoredAnswer {
    pub request: String,
    pub status: u16,
    pub body: Vec<u8>,
}

fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    /// Opens (creating and migrating) the database; the template key comes from `key_file`
    /// (created, mode 0600, on first use), which must not be the database itself.
    pub fn open(database: &Path, key_file: &Path) -> Result<Store, StoreError> {
        if database == key_file {
            return Err(StoreError::Key("key_file 不能与数据库是同一个文件".into()));
        }
        if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Key(format!("{}: {e}", parent.display())))?;
        }
        let key = booth_face::gallery::load_or_create_key(key_file).map_err(|e| StoreError::Key(e.to_string()))?;
        let conn = Connection::open(database)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // A payment answered is on disk: every commit waits for the WAL to be synced.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&conn)?;
        Ok(Store { db: Mutex::new(conn), cipher: ChaCha20Poly1305::new(Key::from_slice(&key)) })
    }

    fn seal(&self, person: &str, values: &[f32]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::Key(e.to_string()))?;
        let plain: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: person.as_bytes() })
            .map_err(|_| StoreError::Sealed)?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    fn open_template(&self, person: &str, sealed: &[u8]) -> Result<Vec<f32>, StoreError> {
        if sealed.len() < 12 {
            return Err(StoreError::Sealed);
        }
        let (nonce, body) = sealed.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: person.as_bytes() })
            .map_err(|_| StoreError::Sealed)?;
        Ok(plain.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// Adds a person with one template and their consent.
    pub fn add_person(
        &self,
        id: &str,
        partition: &Partition,
        info: &PersonInfo,
        model: &str,
        template: &[f32],
        consent: &Consent,
    ) -> Result<(), StoreError> {
        let sealed = self.seal(id, template)?;
        let mut db = lock(&self.db);
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO person (id, org, component, name, id_number, phone, unique_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                partition.org_out_id,
                partition.component_out_id,
                info.name,
                info.id_number.to_ascii_uppercase(),
                info.phone,
                info.unique_id,
                booth_provider_client::sign::now_s()
            ],
        )?;
        tx.execute("INSERT INTO template (person_id, model, sealed) VALUES (?1, ?2, ?3)", params![id, model, sealed])?;
        tx.execute(
            "INSERT INTO consent (person_id, text, accepted_at, terminal) VALUES (?1, ?2, ?3, ?4)",
            params![id, consent.text, consent.accepted_at, consent.terminal],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Adds a person without a face (a member who pays with their member code).
    pub fn add_member(&self, id: &str, partition: &Partition, info: &PersonInfo) -> Result<(), StoreError> {
        lock(&self.db).execute(
            "INSERT INTO person (id, org, component, name, id_number, phone, unique_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                partition.org_out_id,
                partition.component_out_id,
                info.name,
                info.id_number.to_ascii_uppercase(),
                info.phone,
                info.unique_id,
                booth_provider_client::sign::now_s()
            ],
        )?;
        Ok(())
    }

    pub fn person_exists(&self, id: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.db)
            .query_row("SELECT 1 FROM person WHERE id = ?1", params![id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The connection, for a transaction (the payments' charge and its stored answer) and for the
    /// tables another module owns (certify.rs's `certification`).
    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        lock(&self.db)
    }

    /// Removes a person with their templates, consents and sessions (their wallet and ledger
    /// entries stay: money is never deleted).
    pub fn delete_person(&self, id: &str) -> Result<bool, StoreError> {
        let n = lock(&self.db).execute("DELETE FROM person WHERE id = ?1", params![id])?;
        Ok(n > 0)
    }

    /// The templates of a model, with their owners, in a partition (`None`: everyone).
    pub fn templates(
        &self,
        model: &str,
        partition: Option<(&str, &str)>,
    ) -> Result<Vec<(String, Vec<f32>)>, StoreError> {
        let rows: Vec<(String, Vec<u8>)> = {
            let db = lock(&self.db);
            let mut stmt = db.prepare(
                "SELECT t.person_id, t.sealed FROM template t JOIN person p ON p.id = t.person_id
                 WHERE t.model = ?1 AND (?2 IS NULL OR (p.org = ?2 AND p.component = ?3))",
            )?;
            let (org, component) = partition.map_or((None, None), |(o, c)| (Some(o), Some(c)));
            let rows = stmt
                .query_map(params![model, org, component], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            rows
        };
        rows.into_iter().map(|(id, sealed)| Ok((id.clone(), self.open_template(&id, &sealed)?))).collect()
    }

    /// The people with this ID number.
    pub fn people_with_id_number(&self, id_number: &str) -> Result<Vec<String>, StoreError> {
        let db = lock(&self.db);
        let mut stmt = db.prepare("SELECT id FROM person WHERE id_number = ?1")?;
        let rows = stmt.query_map(params![id_number.to_ascii_uppercase()], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn people(&self) -> Result<Vec<Person>, StoreError> {
        let db = lock(&self.db);
        let mut stmt = db.prepare(
            "SELECT id, org, component, name, id_number, phone, unique_id, created_at,
                    (SELECT count(*) FROM template t WHERE t.person_id = person.id)
             FROM person ORDER BY created_at, id",
        )?;
        let mut people: Vec<Person> = stmt
            .query_map([], |r| {
                Ok(Person {
                    id: r.get(0)?,
                    org_out_id: r.get(1)?,
                    component_out_id: r.get(2)?,
                    name: r.get(3)?,
                    id_number: r.get(4)?,
                    phone: r.get(5)?,
                    unique_id: r.get(6)?,
                    created_at: r.get(7)?,
                    templates: r.get::<_, i64>(8)? as usize,
                    consents: vec![],
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = db.prepare("SELECT text, accepted_at, terminal FROM consent WHERE person_id = ?1")?;
        for p in &mut people {
            p.consents = stmt
                .query_map(params![p.id], |r| {
                    Ok(Consent { text: r.get(0)?, accepted_at: r.get(1)?, terminal: r.get(2)? })
                })?
                .collect::<Result<_, _>>()?;
        }
        Ok(people)
    }

    pub fn start_session(&self, id: &str, person: &str, terminal: &str, expires_at: i64) -> Result<(), StoreError> {
        lock(&self.db).execute(
            "INSERT INTO session (id, person_id, terminal, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, person, terminal, booth_provider_client::sign::now_s(), expires_at],
        )?;
        Ok(())
    }

    /// Ends a session of this terminal; `false` if there was no such live session.
    pub fn end_session(&self, id: &str, terminal: &str) -> Result<bool, StoreError> {
        let n = lock(&self.db).execute(
            "UPDATE session SET ended = 1 WHERE id = ?1 AND terminal = ?2 AND ended = 0 AND expires_at > ?3",
            params![id, terminal, booth_provider_client::sign::now_s()],
        )?;
        Ok(n > 0)
    }

    pub fn live_sessions(&self) -> Result<usize, StoreError> {
        let n: i64 = lock(&self.db).query_row(
            "SELECT count(*) FROM session WHERE ended = 0 AND expires_at > ?1",
            params![booth_provider_client::sign::now_s()],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    pub fn answer(&self, key_id: &str, idem: &str) -> Result<Option<StoredAnswer>, StoreError> {
        let now = booth_provider_client::sign::now_s();
        let db = lock(&self.db);
        db.execute("DELETE FROM answer WHERE at < ?1", params![now - ANSWER_TTL_S])?;
        Ok(db
            .query_row(
                "SELECT request, status, body FROM answer WHERE key_id = ?1 AND idem = ?2",
                params![key_id, idem],
                |r| Ok(StoredAnswer { request: r.get(0)?, status: r.get::<_, i64>(1)? as u16, body: r.get(2)? }),
            )
            .optional()?)
    }

    pub fn keep_answer(
        &self,
        key_id: &str,
        idem: &str,
        request: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StoreError> {
        lock(&self.db).execute(
            "INSERT OR REPLACE INTO answer (key_id, idem, request, status, body, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![key_id, idem, request, status, body, booth_provider_client::sign::now_s()],
        )?;
        Ok(())
    }

    pub fn audit(&self, key_id: &str, terminal: &str, action: &str, person: &str, outcome: &str) {
        let r = lock(&self.db).execute(
            "INSERT INTO audit (at, key_id, terminal, action, person_id, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![booth_provider_client::sign::now_s(), key_id, terminal, action, person, outcome],
        );
        if let Err(e) = r {
            tracing::error!(error = %e, action, "audit row not written");
        }
    }

    pub fn audit_rows(&self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let db = lock(&self.db);
        let mut stmt = db.prepare(
            "SELECT at, key_id, terminal, action, person_id, outcome FROM audit ORDER BY rowid DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok(AuditRow {
                    at: r.get(0)?,
                    key_id: r.get(1)?,
                    terminal: r.get(2)?,
                    action: r.get(3)?,
                    person_id: r.get(4)?,
                    outcome: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        conn.execute_batch(&format!("BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;", i + 1))?;
    }
    Ok(())
}

/// A template has the engine's length.
pub fn template_ok(values: &[f32]) -> bool {
    values.len() == FACE_DIM && values.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent() -> Consent {
        Consent { text: "同意".into(), accepted_at: 1, terminal: "T1".into() }
    }

    #[test]
    fn people_templates_and_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let (db, key) = (dir.path().join("p.db"), dir.path().join("keys/t.key"));
        let s = Store::open(&db, &key).unwrap();
        let t: Vec<f32> = (0..FACE_DIM).map(|i| i as f32 / 1000.0).collect();
        let info = PersonInfo { name: "王".into(), id_number: "11010119900307001x".into(), ..Default::default() };
        s.add_person(
            "p1",
            &Partition { org_out_id: "org".into(), component_out_id: "c".into() },
            &info,
            "m",
            &t,
            &consent(),
        )
        .unwrap();
        s.start_session("s1", "p1", "T1", i64::MAX).unwrap();
        assert_eq!(s.templates("m", Some(("org", "c"))).unwrap(), vec![("p1".to_string(), t.clone())]);
        assert!(s.templates("m", Some(("org", "x"))).unwrap().is_empty());
        assert_eq!(s.people_with_id_number("11010119900307001X").unwrap(), vec!["p1"]);
        // Sealed at rest: the numbers are not in the file.
        drop(s);
        let raw = std::fs::read(&db).unwrap();
        let needle: Vec<u8> = t[1..5].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(!raw.windows(needle.len()).any(|w| w == needle.as_slice()));
        // Reopening migrates nothing twice; another key cannot read the templates.
        let s = Store::open(&db, &key).unwrap();
        assert_eq!(s.people().unwrap()[0].consents, vec![consent()]);
        assert!(Store::open(&db, &dir.path().join("other.key")).unwrap().templates("m", None).is_err());
        assert!(s.delete_person("p1").unwrap());
        assert!(s.templates("m", None).unwrap().is_empty());
        assert_eq!(s.live_sessions().unwrap(), 0);
        assert!(Store::open(&db, &db).is_err());
    }
}
