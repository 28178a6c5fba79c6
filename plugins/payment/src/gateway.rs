//! What the payment service asks of whoever charges the customer: the provider of
//! `booth-provider/v1` ([`crate::provider`]) in a terminal, anything else in a test.

use booth_provider_client::wire;
use futures::future::BoxFuture;

/// One payment as Booth asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The Idempotency-Key: the same for every request about this payment, across restarts.
    pub key: String,
    pub trade: String,
    /// Fen.
    pub amount: u64,
    pub body: String,
    pub terminal: String,
}

/// The provider charged the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charged {
    pub payment_id: String,
    pub amount: u64,
}

/// Why no charge was confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayFailure {
    /// The provider answered no: nothing was charged. `code` is the contract's
    /// (`INSUFFICIENT_FUNDS`, `PAYMENT_FAILED`, `NOT_MATCHED`, `BAD_PARAM` …).
    Refused { code: String, message: String },
    /// The payment is still being processed by the provider (`PAYMENT_PENDING`): ask again.
    Pending { message: String },
    /// No answer: the provider may or may not have charged.
    Lost { timeout: bool, message: String },
}

impl PayFailure {
    pub fn message(&self) -> &str {
        match self {
            PayFailure::Refused { message, .. }
            | PayFailure::Pending { message }
            | PayFailure::Lost { message, .. } => message,
        }
    }

    /// The face was not the customer's, or no face was accepted: another face may do.
    pub fn face_refused(&self) -> bool {
        matches!(self, PayFailure::Refused { code, .. }
            if matches!(code.as_str(), "NOT_MATCHED" | "NO_FACE" | "LIVENESS_FAILED"))
    }
}

/// What a query learnt about a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queried {
    Paid(Charged),
    /// Refused, or never received: nothing was charged.
    NotPaid {
        code: String,
        message: String,
    },
}

/// What a face code handed to the cash register came to (the register charges it itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// The register charged it, under its own trade number.
    Paid { trade: String, charged: Charged },
    /// Not charged yet, and still good.
    Unused,
    /// It will never pay: expired unused, or unknown to the provider.
    NotPaid { code: String, message: String },
}

pub trait Gateway: Send + Sync + 'static {
    /// Whether the provider can be reached now (facePay's "-4" 无网络 before the face screen).
    fn reachable(&self) -> BoxFuture<'_, Result<(), PayFailure>>;
    /// A payment code for the person of `face` (`requireFaceCode`): the mini-program charges it.
    fn face_code<'a>(
        &'a self,
        key: &'a str,
        terminal: &'a str,
        face: wire::Face,
    ) -> BoxFuture<'a, Result<String, PayFailure>>;
    /// Charges the person of `face`.
    fn charge_face<'a>(&'a self, order: &'a Order, face: wire::Face) -> BoxFuture<'a, Result<Charged, PayFailure>>;
    /// Charges a customer's payment code (scanned).
    fn charge_code<'a>(&'a self, order: &'a Order, code: &'a str) -> BoxFuture<'a, Result<Charged, PayFailure>>;
    /// What became of the payment with this trade number.
    fn query<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Queried, PayFailure>>;
    /// What became of a face code this terminal was given and handed to the register.
    fn query_face_code<'a>(&'a self, terminal: &'a str, code: &'a str) -> BoxFuture<'a, Result<CodeUse, PayFailure>>;
    /// Gives the trade number up: it can no longer be charged, and a charge that slipped in is
    /// returned. What the number came to is the answer.
    fn cancel<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Queried, PayFailure>>;
}
