//! The reference provider (`services/provider`) on a free loopback port with its own database,
//! for the payment tests of both sides: people with funded wallets and member codes, a face
//! enrolled from a photo, and the ledger to count charges in.

use crate::pay::{self, LedgerEntry};
use crate::{App, Running, Settings};
use booth_provider_client::wire::{Consent, Partition, PersonInfo, FACE_MODEL};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A person who can pay.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub person_id: String,
    /// Their member code (18 digits starting `99`), for `/v1/pay/code`.
    pub code: String,
}

pub struct RefProvider {
    /// The database and key live here; removed when the provider is dropped.
    pub dir: tempfile::TempDir,
    pub running: Running,
}

impl RefProvider {
    /// Terminals are `(key id, secret)` (secrets of 32 characters or more). Without face
    /// models: faces are enrolled from embeddings ([`RefProvider::enroll_embedding`]) only.
    pub async fn start(terminals: &[(&str, &str)]) -> RefProvider {
        Self::start_with(None, terminals, |_| {}).await
    }

    /// With Booth's face models (`booth_testkit::face::models_dir()`), for faces from photos.
    pub async fn start_with_models(models_dir: PathBuf, terminals: &[(&str, &str)]) -> RefProvider {
        Self::start_with(Some(models_dir), terminals, |_| {}).await
    }

    /// Any other settings (`face_code_ttl_s`, `pay_limit_fen`, …) changed by `tune`.
    pub async fn start_with(
        models_dir: Option<PathBuf>,
        terminals: &[(&str, &str)],
        tune: impl FnOnce(&mut Settings),
    ) -> RefProvider {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut settings = Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: dir.path().join("db/provider.db"),
            key_file: dir.path().join("keys/templates.key"),
            models_dir,
            clients: terminals.iter().map(|(k, s)| (k.to_string(), s.to_string())).collect::<HashMap<_, _>>(),
            ..Settings::default()
        };
        tune(&mut settings);
        let app = App::open(settings).unwrap_or_else(|e| panic!("reference provider: {e}"));
        let running = app.serve().await.unwrap_or_else(|e| panic!("reference provider: {e}"));
        RefProvider { dir, running }
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// `http://127.0.0.1:PORT`, for `[provider] url`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn app(&self) -> &Arc<App> {
        &self.running.app
    }

    /// A person without a face, with `fen` in their wallet (0: none) and a member code.
    pub fn member(&self, name: &str, fen: i64) -> Member {
        let id = crate::server::new_person_id();
        let info = PersonInfo { name: name.into(), ..Default::default() };
        self.app().store.add_member(&id, &Partition::default(), &info).expect("add a member");
        self.fund(&id, fen)
    }

    /// A person enrolled from a photo (JPEG or PNG with one face; needs the models) with `fen`
    /// in their wallet and a member code.
    pub fn enroll_photo(&self, photo: &Path, fen: i64) -> Member {
        let bytes = std::fs::read(photo).unwrap_or_else(|e| panic!("{}: {e}", photo.display()));
        let template = self.app().embed_photo(&bytes).unwrap_or_else(|r| panic!("{}: {:?}", photo.display(), r));
        self.enroll_embedding(&template, fen)
    }

    /// A person whose face template is `values` (Booth's model), with `fen` and a member code.
    pub fn enroll_embedding(&self, values: &[f32], fen: i64) -> Member {
        let id = crate::server::new_person_id();
        let consent = Consent {
            text: "同意以人脸特征付款 (测试)".into(),
            accepted_at: booth_provider_client::sign::now_s(),
            terminal: "test".into(),
        };
        self.app()
            .store
            .add_person(&id, &Partition::default(), &PersonInfo::default(), FACE_MODEL, values, &consent)
            .expect("enrol a face");
        self.fund(&id, fen)
    }

    fn fund(&self, id: &str, fen: i64) -> Member {
        if fen > 0 {
            pay::top_up(self.app(), id, fen, "test").expect("top up");
        }
        let code = pay::issue_member_code(self.app(), id).expect("a member code");
        Member { person_id: id.to_string(), code }
    }

    pub fn top_up(&self, person_id: &str, fen: i64) -> i64 {
        pay::top_up(self.app(), person_id, fen, "test").expect("top up")
    }

    /// Fen in the person's wallet.
    pub fn balance(&self, person_id: &str) -> i64 {
        pay::balance(self.app(), person_id).expect("a balance")
    }

    /// Every ledger line, oldest first.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        pay::ledger(self.app()).expect("the ledger")
    }

    /// The ledger lines of one trade number that took money (charges).
    pub fn charges_of(&self, out_trade_no: &str) -> Vec<LedgerEntry> {
        self.ledger().into_iter().filter(|e| e.kind == "CHARGE" && e.out_trade_no == out_trade_no).collect()
    }

    /// Fen charged in all, less refunds.
    pub fn charges_total(&self) -> i64 {
        self.ledger().iter().filter(|e| e.kind != "TOPUP").map(|e| -e.delta).sum()
    }
}
