//! Booth's payments (seed 001 §4): `wxfaceapp.facePay {requireFaceCode}` with its four events
//! (`onFacePayPassEvent`, `onFacePayFailedEvent`, `onQueryPaymentSucEvent`,
//! `onQueryPaymentFailedEvent`), `quickPay` and `ableToQuickPay` after a face login, the
//! cash register's lines on the POS serial port, and the terminal's payment journal that makes
//! a payment happen once or not at all, whatever fails in between.
//!
//! - [`journal`]: the append-only, checksummed, fsynced journal and its reading back.
//! - [`service`]: the calls on the bridge and the payment flow.
//! - [`gateway`]: what the flow asks of the provider; [`provider`] implements it with
//!   `booth-provider/v1`.
//! - [`register`]: the cash register's line format (`AMT 1250` in, `CODE`/`PAID`/`FAIL` out).
//! - [`config`]: `[payment]` in booth.toml.
//!
//! Not for: the face screen and liveness (booth-face), the provider's HTTP client
//! (booth-provider-client), or writeToSerialPort (booth-pos). Nothing about the person is
//! journalled or logged: a trade number, an amount in fen, a state and the provider's code.

pub mod config;
pub mod gateway;
pub mod journal;
pub mod provider;
pub mod register;
pub mod service;
pub mod sim;

pub use config::{PaymentConfig, PaymentSection};
pub use journal::Journal;
pub use service::PaymentService;
