//! The reference `booth-provider/v1` server, for closed-loop sites (a canteen, a campus, a staff
//! entrance) that have no vendor behind them: people with consent records and encrypted face
//! templates in SQLite, 1:N search, 1:1 verification against an enrolled ID number or a photo,
//! face-login sessions, real-person certification with its own page, an admin command line and structured logs. It verifies requests with
//! the same signing code Booth uses (booth-provider-client).
//!
//! Not for: payment-grade identification (Booth's face model is a 2017-era one), storing
//! photos (only embeddings are kept), or vendor adapters (a WeChat Pay / Alipay / Alibaba Cloud
//! adapter implements the same contract on its own). Card OCR ([`ocr`]: resident ID cards and
//! bank cards) runs when its models are in `models_dir`, else answers NOT_CONFIGURED.
//!
//! Real-person certification (`/v1/certify/*` and its page) is [`certify`]; payments
//! (`/v1/pay/*`: wallets, the append-only ledger, member and face codes, refunds, the daily
//! report) are [`pay`].

pub mod certify;
pub mod config;
pub mod ocr;
pub mod pay;
pub mod server;
pub mod store;
#[cfg(feature = "test-support")]
pub mod testing;

pub use config::Settings;
pub use server::{App, Running};
