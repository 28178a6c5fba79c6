//! The [`Gateway`] of a terminal: `booth-provider/v1`'s `/v1/pay/*` through the provider
//! client, every request about one payment under the journal's Idempotency-Key.

use crate::gateway::{Charged, CodeUse, Gateway, Order, PayFailure, Queried};
use booth_provider_client::wire::{self, Code, PayStatus};
use booth_provider_client::{PayError, Provider};
use futures::future::BoxFuture;
use std::sync::Arc;

pub struct ProviderGateway(pub Arc<Provider>);

fn failure(e: PayError) -> PayFailure {
    let err = e.error();
    let message = err.message.clone();
    match &e {
        PayError::Declined(_) => PayFailure::Refused { code: err.code.as_str().to_string(), message },
        PayError::Unknown(_) if err.code == Code::PaymentPending => PayFailure::Pending { message },
        PayError::Unknown(_) => PayFailure::Lost { timeout: err.code == Code::Timeout, message },
    }
}

fn charged(p: wire::Payment) -> Result<Charged, PayFailure> {
    match p.status {
        PayStatus::Success => Ok(Charged { payment_id: p.trade_no, amount: p.amount.max(0) as u64 }),
        other => Err(PayFailure::Refused {
            code: format!("{other:?}").to_uppercase(),
            message: format!("交易状态 {other:?}"),
        }),
    }
}

fn queried(p: wire::Payment) -> Queried {
    match charged(p) {
        Ok(c) => Queried::Paid(c),
        Err(PayFailure::Refused { code, message }) => Queried::NotPaid { code, message },
        Err(e) => Queried::NotPaid { code: "UNKNOWN".into(), message: e.message().to_string() },
    }
}

impl Gateway for ProviderGateway {
    fn reachable(&self) -> BoxFuture<'_, Result<(), PayFailure>> {
        Box::pin(async move {
            match self.0.capabilities().await {
                Ok(_) => Ok(()),
                Err(e) if matches!(e.code, Code::Network | Code::Timeout) => {
                    Err(PayFailure::Lost { timeout: e.code == Code::Timeout, message: e.message })
                }
                // It answered: reachable, whatever it thought of the question.
                Err(_) => Ok(()),
            }
        })
    }

    fn face_code<'a>(
        &'a self,
        key: &'a str,
        terminal: &'a str,
        face: wire::Face,
    ) -> BoxFuture<'a, Result<String, PayFailure>> {
        Box::pin(async move {
            let req = wire::PayFaceRequest {
                terminal: terminal.to_string(),
                face,
                amount: 0,
                out_trade_no: String::new(),
                description: String::new(),
                require_face_code: true,
                partition: None,
            };
            self.0.face_code(&req, key).await.map(|c| c.face_code).map_err(failure)
        })
    }

    fn charge_face<'a>(&'a self, order: &'a Order, face: wire::Face) -> BoxFuture<'a, Result<Charged, PayFailure>> {
        Box::pin(async move {
            let req = wire::PayFaceRequest {
                terminal: order.terminal.clone(),
                face,
                amount: order.amount as i64,
                out_trade_no: order.trade.clone(),
                description: order.body.clone(),
                require_face_code: false,
                partition: None,
            };
            self.0.pay_face(&req, &order.key).await.map_err(failure).and_then(charged)
        })
    }

    fn charge_code<'a>(&'a self, order: &'a Order, code: &'a str) -> BoxFuture<'a, Result<Charged, PayFailure>> {
        Box::pin(async move {
            let req = wire::PayCodeRequest {
                terminal: order.terminal.clone(),
                code: code.to_string(),
                amount: order.amount as i64,
                out_trade_no: order.trade.clone(),
                description: order.body.clone(),
            };
            self.0.pay_code(&req, &order.key).await.map_err(failure).and_then(charged)
        })
    }

    fn query<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Queried, PayFailure>> {
        Box::pin(async move {
            let req = wire::PayQueryRequest {
                terminal: order.terminal.clone(),
                out_trade_no: order.trade.clone(),
                face_code: String::new(),
            };
            match self.0.pay_query(&req).await {
                Ok(p) => Ok(queried(p)),
                Err(e) => match failure(e) {
                    PayFailure::Refused { code, message } => Ok(Queried::NotPaid { code, message }),
                    other => Err(other),
                },
            }
        })
    }

    fn query_face_code<'a>(&'a self, terminal: &'a str, code: &'a str) -> BoxFuture<'a, Result<CodeUse, PayFailure>> {
        Box::pin(async move {
            let req = wire::PayQueryRequest {
                terminal: terminal.to_string(),
                out_trade_no: String::new(),
                face_code: code.into(),
            };
            match self.0.pay_query(&req).await {
                Ok(p) => {
                    let trade = p.out_trade_no.clone();
                    Ok(match queried(p) {
                        Queried::Paid(charged) => CodeUse::Paid { trade, charged },
                        Queried::NotPaid { code, message } => CodeUse::NotPaid { code, message },
                    })
                }
                Err(e) => match failure(e) {
                    PayFailure::Pending { .. } => Ok(CodeUse::Unused),
                    PayFailure::Refused { code, message } => Ok(CodeUse::NotPaid { code, message }),
                    lost => Err(lost),
                },
            }
        })
    }

    fn cancel<'a>(&'a self, order: &'a Order) -> BoxFuture<'a, Result<Queried, PayFailure>> {
        Box::pin(async move {
            let req = wire::PayCancelRequest { terminal: order.terminal.clone(), out_trade_no: order.trade.clone() };
            // Its own key, derived from the payment's: a retry of the cancel is the same cancel.
            let key = format!("{}-cancel", order.key);
            match self.0.pay_cancel(&req, &key).await {
                Ok(p) => Ok(queried(p)),
                Err(e) => match failure(e) {
                    PayFailure::Refused { code, message } => Ok(Queried::NotPaid { code, message }),
                    other => Err(other),
                },
            }
        })
    }
}
