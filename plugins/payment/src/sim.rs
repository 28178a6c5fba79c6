//! The payment simulator (`[provider] backend = "sim"`, `booth --sim`): a [`Gateway`] in-process
//! with its own small ledger, whose next outcomes the developer picks in the panel or with
//! `POST /sim/payment/outcome {"outcome": …}`: `success`, `insufficient-funds`, `slow` (the
//! answer takes 5 s), `cut-before` (the first request is lost before it is charged) and
//! `cut-after` (charged, the answer lost). The flow around it — journal, retries under the same
//! key, queries — is the real one. With `[payment] register_charges`, the face codes Booth hands
//! the cash register stay unused until the developer plays the register: the panel's
//! `register-charge` (or `POST /sim/payment/register-charge {"fen": 1250}`) charges the newest
//! unused code under the current outcome.

use crate::gateway::{Charged, CodeUse, Gateway, Order, PayFailure, Queried};
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
    /// Face codes given out, newest last, with what the register made of each.
    issued: Vec<(String, CodeUse)>,
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

    /// Plays the cash register charging the newest face code not used yet: its trade number.
    pub fn register_charge(&self, fen: u64) -> Result<String, String> {
        if !(1..=crate::register::MAX_FEN).contains(&fen) {
            return Err(format!("fen: 1–{}", crate::register::MAX_FEN));
        }
        let mut s = self.state();
        let n = s.ledger.len() + 1;
        let outcome = s.outcome.clone();
        let Some(slot) = s.issued.iter_mut().rev().find(|(_, used)| *used == CodeUse::Unused) else {
            return Err("没有未使用的付款码".into());
        };
        let trade = format!("REG{n:08}");
        let charged = Charged { payment_id: format!("SIM{n:08}"), amount: fen };
        if outcome == "insufficient-funds" {
            slot.1 = CodeUse::NotPaid { code: "INSUFFICIENT_FUNDS".into(), message: "余额不足 (模拟)".into() };
            return Ok(trade);
        }
        slot.1 = CodeUse::Paid { trade: trade.clone(), charged: charged.clone() };
        s.ledger.insert(trade.clone(), charged);
        Ok(trade)
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
            let code = format!("28{:016}", s.codes);
            s.issued.push((code.clone(), CodeUse::Unused));
            if s.issued.len() > 64 {
                s.issued.remove(0);
            }
            Ok(code)
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

    fn query_face_code<'a>(&'a self, _terminal: &'a str, code: &'a str) -> BoxFuture<'a, Result<CodeUse, PayFailure>> {
        Box::pin(async move {
            let s = self.state();
            Ok(match s.issued.iter().find(|(c, _)| c == code) {
                None => CodeUse::NotPaid { code: "NOT_FOUND".into(), message: "没有这个付款码 (模拟)".into() },
                Some((_, used)) => used.clone(),
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
        vec![
            Action::new(
                "outcome",
                "下一笔结果 Next outcome",
                vec![Field::choice("outcome", "结果 Outcome", &OUTCOMES, "success")],
            ),
            Action::new(
                "register-charge",
                "收银机扣款 Register charges the code",
                vec![Field::integer("fen", "金额 (分) Amount (fen)", 1250)],
            ),
        ]
    }
    fn state(&self) -> Value {
        let s = self.0.state();
        let ledger: Vec<Value> =
            s.ledger.iter().map(|(t, c)| json!({"outTradeNo": t, "amount": c.amount, "id": c.payment_id})).collect();
        json!({"outcome": s.outcome, "ledger": ledger, "totalFen": s.ledger.values().map(|c| c.amount).sum::<u64>()})
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        match action {
            "outcome" => {
                let o = args.get("outcome").and_then(Value::as_str).unwrap_or_default();
                if !self.0.set_outcome(o) {
                    return Err(SimError::InvalidArgs(format!("outcome: {}", OUTCOMES.join(", "))));
                }
            }
            "register-charge" => {
                let fen = args.get("fen").and_then(Value::as_u64).unwrap_or(0);
                self.0.register_charge(fen).map_err(SimError::InvalidArgs)?;
            }
            _ => {}
        }
        Ok(self.state())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> wire::Face {
        wire::Face {
            image: String::new(),
            embedding: wire::Embedding { model: "sim".into(), version: "1".into(), values: vec![] },
            liveness: wire::Liveness { method: "none".into(), passed: true, steps: vec![] },
        }
    }

    #[test]
    fn the_panel_plays_a_register_charging_the_newest_code() {
        let sim = SimGateway::default();
        let run = |f: BoxFuture<'_, Result<CodeUse, PayFailure>>| futures::executor::block_on(f).unwrap();
        assert!(sim.register_charge(100).is_err(), "no code handed out yet");
        let first = futures::executor::block_on(sim.face_code("k1", "T", face())).unwrap();
        let second = futures::executor::block_on(sim.face_code("k2", "T", face())).unwrap();
        assert_eq!(run(sim.query_face_code("T", &second)), CodeUse::Unused);
        let trade = sim.register_charge(1250).unwrap();
        match run(sim.query_face_code("T", &second)) {
            CodeUse::Paid { trade: t, charged } => assert_eq!((t, charged.amount), (trade, 1250)),
            other => panic!("{other:?}"),
        }
        assert_eq!(run(sim.query_face_code("T", &first)), CodeUse::Unused, "the newest code was charged");
        assert!(sim.set_outcome("insufficient-funds"));
        sim.register_charge(99).unwrap();
        assert!(
            matches!(run(sim.query_face_code("T", &first)), CodeUse::NotPaid { code, .. } if code == "INSUFFICIENT_FUNDS")
        );
        assert!(matches!(run(sim.query_face_code("T", "nope")), CodeUse::NotPaid { code, .. } if code == "NOT_FOUND"));
        assert_eq!(sim.ledger_total(), 1250);
        assert!(sim.register_charge(0).is_err());
    }
}
