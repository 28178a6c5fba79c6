//! The payment simulator (`[provider] backend = "sim"`, `booth --sim`): a [`Gateway`] in-process
//! with its own small ledger, whose next outcomes the developer picks in the panel or with
//! `POST /sim/payment/outcome {"outcome": …}`: `success`, `insufficient-funds`, `slow` (the
//! answer takes 5 s), `cut-before` (the first request is lost before it is charged) and
//! `cut-after` (charged, the answer lost). The flow around it — journal, retries under the same
//! key, queries — is the real one.

use crate::gateway::{Charged, Gateway, Order, PayFailure, Queried};
use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use booth_provider_client::wire;
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SIM_ID: &str = "payment";
pub const OUTCOMES: [&str; 5] = ["success", "insufficient-funds", "slow", "cut-before", "cut-after"];
/// How long a `slow` answer takes.
pub const SLOW: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    outcome: String,
    /// outTradeNo → charge.
    ledger: BTreeMap<String, Charged>,
    closed: HashSet<String>,
    /// Keys whose first request was "lost before" already (the retry goes through).
    cut: HashSet<String>,
    codes: u64,
}

/// The simulated provider of payments.
pub struct SimGateway(Mutex<State>);

impl Default for SimGateway {
    fn default() -> Self {
        SimGateway(Mutex::new(State { outcome: "success".into(), ..State::default() }))
    }
}

impl SimGateway {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_outcome(&self, o: &str) -> bool {
        let ok = OUTCOMES.contains(&o);
        if ok {
            self.state().outcome = o.to_string();
        }
        ok
    }

    pub fn ledger_total(&self) -> u64 {
        self.state().ledger.values().map(|c| c.amount).sum()
    }

    async fn charge(&self, order: &Order) -> Result<Charged, PayFailure> {
        let outcome = self.state().outcome.clone();
        let lost = |m: &str| PayFailure::Lost { timeout: false, message: format!("模拟: {m}") };
        if outcome == "slow" {
            tokio::time::sleep(SLOW).await;
        }
        let mut s = self.state();
        if let Some(c) = s.ledger.get(&order.trade) {
            // The same trade number again: the first result, never a second charge.
            return Ok(c.clone());
        }
        if s.closed.contains(&order.trade) {
            return Err(PayFailure::Refused {
                code: "PAYMENT_FAILED".into(), message: "交易已关闭 (模拟)".into()
            });
        }
        match outcome.as_str() {
            "insufficient-funds" => {
                Err(PayFailure::Refused { code: "INSUFFICIENT_FUNDS".into(), message: "余额不足 (模拟)".into() })
            }
            "cut-before" if s.cut.insert(order.key.clone()) => Err(lost("请求未送达")),
            _ => {
                let c = Charged { payment_id: format!("SIM{:08}", s.ledger.len() + 1), amount: order.amount };
                s.ledger.insert(order.trade.clone(), c.clone());
                if outcome == "cut-after" && s.cut.insert(order.key.clone()) {
                    return Err(lost("已扣款, 应答丢失"));
                }
                Ok(c)
            }
        }
    }
}

impl Gateway for SimGateway {
    fn reachable(&self) -> BoxFuture<'_, Result<(), PayFailure>> {
        Box::pin(async { Ok(()) })
    }

    fn face_code<'a>(
        &'a self,
        _key: &'a str,
        _terminal: &'a str,
        _face: wire::Face,
    ) -> BoxFuture<'a, Result<String, PayFailure>> {
        Box::pin(async move {
            let mut s = self.state();
            s.codes += 1;
            Ok(format!("28{:016}", s.codes))
        })
    }

    fn charge_face<'a>(&'a self, order: &'a Order, _face: wire::Face) -> BoxFuture<'a, Result<Charged, PayFailure>> {
        Box::pin(self.charge(order))
    }

    fn charge_code<'a>(&'a self, order: &'a Order, _code: &'a str) -> BoxFuture<'a, Result<Charged, PayFailure>> {
        Box::pin(self.charge(order))
    }

    fn query<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Queried, PayFailure>> {
        Box::pin(async move {
            let s = self.state();
            Ok(match s.ledger.get(&order.trade) {
                Some(c) => Queried::Paid(c.clone()),
                None if s.closed.contains(&order.trade) => {
                    Queried::NotPaid { code: "CLOSED".into(), message: "交易已关闭".into() }
                }
                None => Queried::NotPaid { code: "NOT_FOUND".into(), message: "没有这笔交易".into() },
            })
        })
    }

    fn cancel<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Queried, PayFailure>> {
        Box::pin(async move {
            let mut s = self.state();
            s.closed.insert(order.trade.clone());
            Ok(match s.ledger.remove(&order.trade) {
                Some(_) => Queried::NotPaid { code: "REVOKED".into(), message: "已撤销并退款".into() },
                None => Queried::NotPaid { code: "CLOSED".into(), message: "交易已关闭".into() },
            })
        })
    }
}

/// The simulator panel's controls.
pub struct PaymentSim(pub Arc<SimGateway>);

impl SimDevice for PaymentSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "支付 Payments"
    }
    fn actions(&self) -> Vec<Action> {
        vec![Action::new(
            "outcome",
            "下一笔结果 Next outcome",
            vec![Field::choice("outcome", "结果 Outcome", &OUTCOMES, "success")],
        )]
    }
    fn state(&self) -> Value {
        let s = self.0.state();
        let ledger: Vec<Value> =
            s.ledger.iter().map(|(t, c)| json!({"outTradeNo": t, "amount": c.amount, "id": c.payment_id})).collect();
        json!({"outcome": s.outcome, "ledger": ledger, "totalFen": s.ledger.values().map(|c| c.amount).sum::<u64>()})
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        if action == "outcome" {
            let o = args.get("outcome").and_then(Value::as_str).unwrap_or_default();
            if !self.0.set_outcome(o) {
                return Err(SimError::InvalidArgs(format!("outcome: {}", OUTCOMES.join(", "))));
            }
        }
        Ok(self.state())
    }
}
