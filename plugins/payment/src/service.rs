//! The payment calls on the bridge and the flow behind them.
//!
//! facePay answers at once ("0", or "-3" running, "-4" no network, "-6" timeout) and goes on in
//! the background: the face screen (booth-face) up to `face_attempts` faces, then either the
//! payment code to the page (`requireFaceCode`: `onFacePayPassEvent {faceCode}`) or a charge
//! by the provider, journalled before and after, reported to the page
//! (`onFacePayPassEvent`, then `onQueryPaymentSucEvent` / `onQueryPaymentFailedEvent`) and to
//! the cash register (`PAID` / `FAIL`). With `[payment] register_charges` (the seed device's way)
//! the register charges instead: it gets `CODE <faceCode>`, Booth asks the provider what the
//! code came to and tells the page. After `face_attempts` failed faces: `onFacePayFailedEvent
//! "-8"`, "请出示付款码" and the customer's code from the scanner instead.
//!
//! The money part does not depend on the page: once the journal says `open`, the attempt runs to
//! an answer (or to `unknown`, which the resolver settles later) even if the page goes away.

use crate::config::PaymentConfig;
use crate::gateway::{Charged, CodeUse, Gateway, Order, PayFailure, Queried};
use crate::journal::{self, Entry, Journal, Kind, State};
use crate::register;
use booth_bridge::{handler, ApiError, Bridge, CallCtx, Dialect, Done, ErrorCode, Params, SessionId};
use booth_face::FaceService;
use booth_pos::Pos;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOPIC_PASS: &str = "payment.face_pass";
pub const TOPIC_FACE_FAILED: &str = "payment.face_failed";
pub const TOPIC_QUERY_OK: &str = "payment.query_ok";
pub const TOPIC_QUERY_FAILED: &str = "payment.query_failed";
/// Every resolved attempt, for the admin screen and the flight recorder (no person in it).
pub const TOPIC_RESULT: &str = "payment.result";

/// Seed 001's replies, word for word.
const PASS: &str = "face pay finished";
const QUERY_OK: &str = "query payment success";
const QUICK_OK: &str = "suc launching quick pay";
const TO_CODE: &str = "用户刷脸多次失败,转二维码支付";
/// How long an amount from the register waits for a facePay to take it.
const REGISTER_AMOUNT_FRESH: Duration = Duration::from_secs(120);

/// An amount the register asked for and no facePay took yet.
struct RegisterAmount {
    fen: u64,
    trade: Option<String>,
    at: Instant,
}

/// What one payment flow needs to know.
#[derive(Clone)]
struct Flow {
    require_code: bool,
    amount: Option<u64>,
    trade: Option<String>,
    body: String,
    /// The register asked for this payment: it gets the answer.
    to_register: bool,
    /// The register charges: it gets the code (`CODE …`) and Booth asks what came of it.
    hand_code: bool,
}

pub struct PaymentService {
    config: PaymentConfig,
    journal: Arc<Journal>,
    gateway: Option<Arc<dyn Gateway>>,
    face: Arc<FaceService>,
    pos: Option<Arc<Pos>>,
    /// One payment at a time on a terminal (one camera, one customer).
    running: Arc<Mutex<Option<SessionId>>>,
    register_amount: Mutex<Option<RegisterAmount>>,
    /// Logins that already made their quickPay.
    quick_used: Mutex<HashSet<u64>>,
    /// Provider refusals for the admin screen: never a person.
    last_error: Mutex<String>,
}

/// Fen as the screen shows it: ¥12.50.
pub fn yuan(fen: u64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

fn wx_fail(code: &'static str, e: ApiError) -> ApiError {
    e.reply_code(code)
}

fn amount_param(params: &Params) -> Result<Option<u64>, ApiError> {
    match params.int("amount")? {
        None => Ok(None),
        Some(a) if (1..=register::MAX_FEN as i64).contains(&a) => Ok(Some(a as u64)),
        Some(_) => Err(ApiError::invalid(format!("amount 应为 1–{} 之间的整数 (单位: 分)", register::MAX_FEN))),
    }
}

fn trade_param(params: &Params) -> Result<Option<String>, ApiError> {
    match params.str("outTradeNo")? {
        None | Some("") => Ok(None),
        Some(t) if register::valid_trade(t) => Ok(Some(t.to_string())),
        Some(_) => Err(ApiError::invalid("outTradeNo 应为 1–64 个字母、数字、- 或 _")),
    }
}

fn body_param(params: &Params) -> Result<String, ApiError> {
    let b = params.str("body")?.unwrap_or_default();
    if b.chars().count() > 128 || b.chars().any(char::is_control) {
        return Err(ApiError::invalid("body 应为不超过 128 个字的一行文字"));
    }
    Ok(b.to_string())
}

impl PaymentService {
    pub fn new(
        config: PaymentConfig,
        journal: Arc<Journal>,
        gateway: Option<Arc<dyn Gateway>>,
        face: Arc<FaceService>,
        pos: Option<Arc<Pos>>,
    ) -> Arc<PaymentService> {
        Arc::new(PaymentService {
            config,
            journal,
            gateway,
            face,
            pos,
            running: Arc::default(),
            register_amount: Mutex::default(),
            quick_used: Mutex::default(),
            last_error: Mutex::default(),
        })
    }

    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    /// For `/health` and the admin screen: counts only.
    pub fn status(&self) -> Value {
        let summary = self.journal.summary();
        let available = self.gateway.is_some();
        json!({
            "backend": if available { "provider" } else { "none" },
            "available": available,
            "detail": if available {
                format!("{} 笔待确认", summary.unresolved)
            } else {
                "未配置 [provider]: 不能收款".to_string()
            },
            "journal": self.journal.path().display().to_string(),
            "summary": summary,
            "register": self.register_on(),
            "registerCharges": self.register_charges(),
            "lastError": self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        })
    }

    fn register_on(&self) -> bool {
        self.config.register && self.pos.as_ref().is_some_and(|p| p.configured())
    }

    /// The seed device's way: the register charges the code Booth gives it.
    fn register_charges(&self) -> bool {
        self.config.register_charges && self.register_on()
    }

    fn gateway(&self) -> Result<Arc<dyn Gateway>, ApiError> {
        self.gateway.clone().ok_or_else(|| ApiError::new(ErrorCode::Unsupported, "本终端未配置支付提供方 ([provider])"))
    }

    fn new_trade(&self) -> String {
        let sn: String = self.config.terminal.chars().filter(|c| c.is_ascii_alphanumeric()).take(24).collect();
        let key = journal::new_key();
        format!("B{}{}-{}", if sn.is_empty() { "" } else { "-" }, sn, &key[..16]).replacen(
            "B-",
            &format!("B{}-", journal::now_ms() / 1000),
            1,
        )
    }

    // ── the register ────────────────────────────────────────────────────────────────────────

    /// Starts the background work on `rt`: the register's lines, and settling the attempts the
    /// journal left open (now, then every minute while any remain).
    pub fn start(self: &Arc<Self>, rt: &tokio::runtime::Handle) {
        let _guard = rt.enter();
        self.watch_register();
        self.keep_resolving(Duration::from_secs(60));
    }

    /// Reads the register's lines (`AMT …`) for as long as the service lives.
    fn watch_register(self: &Arc<Self>) {
        let Some(pos) = self.pos.clone().filter(|_| self.register_on()) else { return };
        let mut rx = pos.lines();
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let line = match rx.recv().await {
                    Ok(l) => l,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                };
                let Some(me) = me.upgrade() else { break };
                match register::parse(&me.config.words, &line) {
                    Ok(Some(register::Incoming::Amount { fen, trade })) => {
                        tracing::info!(fen, "cash register: amount");
                        *me.register_amount.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(RegisterAmount { fen, trade, at: Instant::now() });
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::info!(%e, "cash register: line refused");
                        me.tell_register(register::fail(&me.config.words, "-12", &e.0)).await;
                    }
                }
            }
        });
    }

    async fn tell_register(&self, line: String) {
        let Some(pos) = self.pos.clone().filter(|_| self.register_on()) else { return };
        if let Err(e) = pos.send(&line).await {
            tracing::warn!(error = %e, "cash register: the answer was not sent");
        }
    }

    fn take_register_amount(&self) -> Option<RegisterAmount> {
        let mut a = self.register_amount.lock().unwrap_or_else(|p| p.into_inner());
        match a.take() {
            Some(r) if r.at.elapsed() <= REGISTER_AMOUNT_FRESH => Some(r),
            _ => None,
        }
    }

    /// The amount of a payment that charges: the page's, else the register's (waiting for it
    /// while the face screen is up would hide the amount from the customer, so it is waited for
    /// here, before the screen).
    async fn amount(&self, flow: &mut Flow, ctx: &CallCtx) -> Result<(), ApiError> {
        if flow.amount.is_some() {
            return Ok(());
        }
        if self.register_charges() {
            // The register charges and knows the amount: one it sent is shown, none is waited for.
            if let Some(a) = self.take_register_amount() {
                flow.amount = Some(a.fen);
                flow.trade = flow.trade.take().or(a.trade);
            }
            flow.to_register = true;
            flow.hand_code = true;
            return Ok(());
        }
        if !self.register_on() {
            return Err(ApiError::invalid(
                "缺少 amount (单位: 分), 且本终端没有连接收银机 ([pos] 串口, [payment] register)",
            ));
        }
        let from_register = match self.take_register_amount() {
            Some(a) => a,
            None => {
                let pos = self.pos.clone().ok_or_else(|| ApiError::invalid("缺少 amount"))?;
                let mut rx = pos.lines();
                let deadline = tokio::time::sleep(self.config.code_timeout);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        _ = &mut deadline => return Err(ApiError::with_message(ErrorCode::Timeout, "等待收银机金额超时")),
                        _ = ctx.cancel.cancelled() => return Err(ApiError::bare(ErrorCode::Cancelled)),
                        l = rx.recv() => match l {
                            Ok(line) => {
                                if let Ok(Some(register::Incoming::Amount { .. })) = register::parse(&self.config.words, &line) {
                                    // The watcher saw it too and keeps it; take it from there.
                                    tokio::task::yield_now().await;
                                    if let Some(a) = self.take_register_amount() { break a; }
                                }
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(_) => return Err(ApiError::unavailable("收银机串口已关闭")),
                        }
                    }
                }
            }
        };
        flow.amount = Some(from_register.fen);
        flow.to_register = true;
        if flow.trade.is_none() {
            flow.trade = from_register.trade;
        }
        Ok(())
    }

    // ── facePay ─────────────────────────────────────────────────────────────────────────────

    fn begin(&self, session: SessionId) -> Result<Running, ApiError> {
        let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_some() {
            return Err(ApiError::with_message(ErrorCode::Busy, "人脸支付已经在运行").reply_code("-3"));
        }
        *r = Some(session);
        Ok(Running(self.running.clone()))
    }

    async fn check_reachable(&self, gateway: &Arc<dyn Gateway>) -> Result<(), ApiError> {
        match gateway.reachable().await {
            Ok(()) => Ok(()),
            Err(PayFailure::Lost { timeout: true, message }) => {
                Err(ApiError::with_message(ErrorCode::Timeout, message).reply_code("-6"))
            }
            Err(e) => Err(ApiError::with_message(ErrorCode::DeviceUnavailable, format!("无网络: {}", e.message()))
                .reply_code("-4")),
        }
    }

    async fn face_pay(self: &Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let require_code = params.bool("requireFaceCode").map_err(|e| wx_fail("-1", e))?.unwrap_or(false);
        let mut flow = Flow {
            require_code,
            amount: amount_param(&params).map_err(|e| wx_fail("-1", e))?,
            trade: trade_param(&params).map_err(|e| wx_fail("-1", e))?,
            body: body_param(&params).map_err(|e| wx_fail("-1", e))?,
            to_register: false,
            hand_code: false,
        };
        let gateway = self.gateway().map_err(|e| wx_fail("-5", e))?;
        if !self.face.enabled() {
            return Err(wx_fail("-5", ApiError::new(ErrorCode::Unsupported, "本终端未启用人脸识别 ([face])")));
        }
        let running = self.begin(ctx.session.id())?;
        self.check_reachable(&gateway).await?;
        if !flow.require_code {
            self.amount(&mut flow, &ctx).await.map_err(|e| {
                let code = if e.code == ErrorCode::Timeout { "-6" } else { "-1" };
                wx_fail(code, e)
            })?;
        }
        let me = self.clone();
        // The flow outlives this call and holds the terminal's payment until it ends.
        tokio::spawn(async move {
            me.face_flow(&ctx, &gateway, flow).await;
            drop(running);
        });
        Ok(Done::from(json!({"replyCode": "0", "reply": "success"})))
    }

    fn publish(&self, ctx: &CallCtx, topic: &'static str, payload: Value) {
        if !ctx.bus.publish_to(ctx.session.id(), topic, payload) {
            tracing::info!(topic, "payment: the page is gone; the result is in the journal");
        }
    }

    fn face_failed(&self, ctx: &CallCtx, code: &str, reply: &str) {
        self.publish(ctx, TOPIC_FACE_FAILED, json!({"replyCode": code, "reply": reply}));
    }

    async fn face_flow(self: &Arc<Self>, ctx: &CallCtx, gateway: &Arc<dyn Gateway>, flow: Flow) {
        let amount_text = flow.amount.map(yuan);
        let mut failures = 0u32;
        loop {
            let face = match self.face.payment_face(ctx, amount_text.clone()).await {
                Ok(f) => f,
                Err(e) => match e.code {
                    ErrorCode::Cancelled => return self.cancelled(ctx, &flow).await,
                    // Nobody came to the camera.
                    ErrorCode::Timeout => return self.gave_up(ctx, &flow, "-6", "超时").await,
                    ErrorCode::DeviceError => {
                        failures += 1;
                        if failures >= self.config.face_attempts {
                            return self.to_code(ctx, gateway, flow).await;
                        }
                        continue;
                    }
                    _ => return self.gave_up(ctx, &flow, "-1", &e.message).await,
                },
            };
            if flow.require_code || flow.hand_code {
                match gateway.face_code(&journal::new_key(), &self.config.terminal, face).await {
                    Ok(code) if flow.hand_code => return self.hand_to_register(ctx, gateway, &flow, &code, true).await,
                    Ok(code) => {
                        self.publish(ctx, TOPIC_PASS, json!({"replyCode": "0", "reply": PASS, "faceCode": code}));
                        return;
                    }
                    Err(e) if e.face_refused() => {
                        failures += 1;
                        if failures >= self.config.face_attempts {
                            return self.to_code(ctx, gateway, flow).await;
                        }
                        continue;
                    }
                    Err(e) => {
                        let code = if matches!(e, PayFailure::Lost { timeout: true, .. }) { "-6" } else { "-1" };
                        return self.gave_up(ctx, &flow, code, e.message()).await;
                    }
                }
            }
            let order = self.order(&flow);
            let outcome = self.charge(gateway, &order, With::Face(face.clone()), flow.to_register).await;
            match outcome {
                Err(e) if e.face_refused() => {
                    failures += 1;
                    if failures >= self.config.face_attempts {
                        return self.to_code(ctx, gateway, flow).await;
                    }
                    continue;
                }
                outcome => {
                    // The face was the customer's: the rest is the payment's result.
                    self.publish(ctx, TOPIC_PASS, json!({"replyCode": "0", "reply": PASS}));
                    return self.report(ctx, &flow, &order, outcome).await;
                }
            }
        }
    }

    fn order(&self, flow: &Flow) -> Order {
        Order {
            key: journal::new_key(),
            trade: flow.trade.clone().unwrap_or_else(|| self.new_trade()),
            amount: flow.amount.unwrap_or(0),
            body: flow.body.clone(),
            terminal: self.config.terminal.clone(),
        }
    }

    async fn cancelled(&self, ctx: &CallCtx, flow: &Flow) {
        self.face_failed(ctx, "-7", "用户取消支付");
        if flow.to_register {
            self.tell_register(register::fail(&self.config.words, "-7", "用户取消支付")).await;
        }
    }

    async fn gave_up(&self, ctx: &CallCtx, flow: &Flow, code: &str, why: &str) {
        self.face_failed(ctx, code, why);
        if flow.to_register {
            self.tell_register(register::fail(&self.config.words, code, why)).await;
        }
    }

    /// "-8": the faces failed; the customer's payment code from the scanner instead.
    async fn to_code(self: &Arc<Self>, ctx: &CallCtx, gateway: &Arc<dyn Gateway>, flow: Flow) {
        self.face_failed(ctx, "-8", TO_CODE);
        let code = match self.scan_code(ctx, flow.amount.map(yuan)).await {
            Ok(c) => c,
            Err(why) => {
                tracing::info!(%why, "payment: no payment code");
                self.publish(ctx, TOPIC_QUERY_FAILED, json!({"replyCode": "-11", "reply": TO_CODE}));
                if flow.to_register {
                    self.tell_register(register::fail(&self.config.words, "-11", &why)).await;
                }
                return;
            }
        };
        if flow.require_code {
            // The customer's own payment code is what the mini-program charges.
            self.publish(ctx, TOPIC_PASS, json!({"replyCode": "0", "reply": PASS, "faceCode": code}));
            return;
        }
        if flow.hand_code {
            // The register charges the customer's code; Booth cannot ask about a code it did
            // not issue, so the page hears the seed's "-11": the payment went to the code.
            self.tell_register(register::code(&self.config.words, &code)).await;
            self.publish(ctx, TOPIC_QUERY_FAILED, json!({"replyCode": "-11", "reply": TO_CODE}));
            return;
        }
        let order = self.order(&flow);
        let outcome = self.charge(gateway, &order, With::Code(code, Kind::Code), flow.to_register).await;
        self.report(ctx, &flow, &order, outcome).await;
    }

    async fn scan_code(&self, ctx: &CallCtx, amount_text: Option<String>) -> Result<String, String> {
        let rx = ctx.bus.subscribe();
        let screen = self.face.code_screen(ctx, self.config.code_timeout, amount_text).map_err(|e| e.message)?;
        let cancel = screen.cancelled();
        booth_bridge::wait_for_event(rx, self.config.code_timeout, &cancel, "扫码器已停止", |ev| {
            (ev.topic == booth_scanner::TOPIC_CODE)
                .then(|| ev.payload.get("code").and_then(Value::as_str).map(str::to_string))
                .flatten()
                .filter(|c| !c.is_empty() && c.len() <= 128)
                .map(Ok)
        })
        .await
        .map_err(|e| e.message)
    }

    /// The money part: journal `open`, ask (retrying with the same key when the answer is lost),
    /// ask what became of it when no answer came, journal the outcome.
    /// `register`: the cash register asked for it (journalled, so that it hears an outcome
    /// settled after a restart too).
    async fn charge(
        &self,
        gateway: &Arc<dyn Gateway>,
        order: &Order,
        with: With,
        register: bool,
    ) -> Result<Charged, PayFailure> {
        let kind = match with {
            With::Face(_) => Kind::Face,
            With::Code(_, kind) => kind,
        };
        let call = |g: &Arc<dyn Gateway>, o: &Order| {
            let with = with.clone();
            let (g, o) = (g.clone(), o.clone());
            async move {
                match with {
                    With::Face(f) => g.charge_face(&o, f).await,
                    With::Code(c, _) => g.charge_code(&o, &c).await,
                }
            }
        };
        let entry = |state: State, detail: String, payment_id: String| Entry {
            at_ms: journal::now_ms(),
            key: order.key.clone(),
            trade: order.trade.clone(),
            amount: order.amount,
            kind,
            state,
            payment_id,
            detail,
            recovered: false,
            register,
        };
        if let Err(e) = self.journal.append(entry(State::Open, String::new(), String::new())) {
            // Without the journal a crash could leave a charge nobody knows of: do not charge.
            tracing::error!(%e, "payment: the journal cannot be written; not charging");
            return Err(PayFailure::Refused { code: "JOURNAL".into(), message: e.to_string() });
        }
        let deadline = Instant::now() + self.config.answer_timeout;
        let mut outcome = call(gateway, order).await;
        let mut pause = Duration::from_millis(300);
        // A lost answer: the same request again under the same key, which the provider answers
        // with the first result, or a query; until the deadline.
        while let Err(PayFailure::Lost { .. } | PayFailure::Pending { .. }) = &outcome {
            if Instant::now() + pause > deadline {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(3));
            outcome = match gateway.query(order).await {
                Ok(Queried::Paid(c)) => Ok(c),
                Ok(Queried::NotPaid { code, .. }) if code == "NOT_FOUND" => call(gateway, order).await,
                Ok(Queried::NotPaid { code, message }) => Err(PayFailure::Refused { code, message }),
                Err(e) => Err(e),
            };
        }
        if let Err(PayFailure::Lost { .. } | PayFailure::Pending { .. }) = &outcome {
            // Out of time: one last question; a payment the provider never saw is closed.
            outcome = match gateway.query(order).await {
                Ok(Queried::Paid(c)) => Ok(c),
                Ok(Queried::NotPaid { code, .. }) if code == "NOT_FOUND" => self.close(gateway, order).await,
                Ok(Queried::NotPaid { code, message }) => Err(PayFailure::Refused { code, message }),
                Err(_) => outcome,
            };
        }
        let line = match &outcome {
            Ok(c) => entry(State::Paid, String::new(), c.payment_id.clone()),
            Err(PayFailure::Refused { code, .. }) => entry(State::Failed, code.clone(), String::new()),
            Err(e) => entry(State::Unknown, e.message().chars().take(200).collect(), String::new()),
        };
        if let Err(e) = self.journal.append(line) {
            tracing::error!(%e, "payment: the outcome could not be journalled");
        }
        if let Err(e) = &outcome {
            *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = e.message().chars().take(200).collect();
        }
        outcome
    }

    /// The provider never saw the payment: the trade number is closed, so that a request still
    /// on its way can no longer charge; what the number came to is the outcome.
    async fn close(&self, gateway: &Arc<dyn Gateway>, order: &Order) -> Result<Charged, PayFailure> {
        match gateway.cancel(order).await {
            Ok(Queried::Paid(c)) => Ok(c),
            Ok(Queried::NotPaid { code, message }) => Err(PayFailure::Refused { code, message }),
            Err(e) => Err(e),
        }
    }

    /// The seed device's way: the register gets `CODE <faceCode>` and charges it; Booth asks the
    /// provider what the code came to until it is paid, will never pay, or `register_wait` is
    /// over, and tells the page. Booth moves no money here, so nothing is journalled: the
    /// register's trade number and the provider's ledger hold the payment.
    /// `face`: a face was just recognised (facePay), which the page hears first.
    async fn hand_to_register(&self, ctx: &CallCtx, gateway: &Arc<dyn Gateway>, flow: &Flow, code: &str, face: bool) {
        self.tell_register(register::code(&self.config.words, code)).await;
        if face {
            self.publish(ctx, TOPIC_PASS, json!({"replyCode": "0", "reply": PASS}));
        }
        let deadline = Instant::now() + self.config.register_wait;
        let (topic, payload) = loop {
            let lost = match gateway.query_face_code(&self.config.terminal, code).await {
                Ok(CodeUse::Paid { trade, charged }) => {
                    break (
                        TOPIC_QUERY_OK,
                        json!({"replyCode": "0", "reply": QUERY_OK, "outTradeNo": trade, "amount": charged.amount}),
                    )
                }
                Ok(CodeUse::NotPaid { code, message }) => {
                    break (TOPIC_QUERY_FAILED, json!({"replyCode": "-10", "reply": message, "subCode": code}))
                }
                Ok(CodeUse::Unused) => None,
                Err(e) => Some(e.message().to_string()),
            };
            if Instant::now() >= deadline {
                break match lost {
                    Some(why) => (TOPIC_QUERY_FAILED, json!({"replyCode": "-10", "reply": why, "subCode": "UNKNOWN"})),
                    None => (
                        TOPIC_QUERY_FAILED,
                        json!({"replyCode": "-6", "reply": format!("收银机 {} 秒内未扣款", self.config.register_wait.as_secs()), "subCode": "PAYMENT_PENDING"}),
                    ),
                };
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let trade = payload.get("outTradeNo").cloned().unwrap_or(Value::Null);
        tracing::info!(ok = topic == TOPIC_QUERY_OK, amount = ?flow.amount, "payment: the register's charge of a face code");
        ctx.bus.publish(TOPIC_RESULT, json!({"outTradeNo": trade, "ok": topic == TOPIC_QUERY_OK}));
        self.publish(ctx, topic, payload);
    }

    /// Tells the page and the register what the charge came to.
    async fn report(&self, ctx: &CallCtx, flow: &Flow, order: &Order, outcome: Result<Charged, PayFailure>) {
        let (topic, payload, line) = match outcome {
            Ok(c) => (
                TOPIC_QUERY_OK,
                json!({"replyCode": "0", "reply": QUERY_OK, "outTradeNo": order.trade, "amount": c.amount}),
                register::paid(&self.config.words, &order.trade, c.amount),
            ),
            Err(e) => {
                let code = match &e {
                    PayFailure::Refused { code, .. } if code == "BAD_PARAM" => "-12",
                    PayFailure::Refused { .. } => "-10",
                    PayFailure::Lost { timeout: true, .. } | PayFailure::Pending { .. } => "-6",
                    PayFailure::Lost { .. } => "-10",
                };
                let sub = match &e {
                    PayFailure::Refused { code, .. } => code.clone(),
                    PayFailure::Pending { .. } => "PAYMENT_PENDING".into(),
                    PayFailure::Lost { .. } => "UNKNOWN".into(),
                };
                (
                    TOPIC_QUERY_FAILED,
                    json!({"replyCode": code, "reply": e.message(), "outTradeNo": order.trade, "subCode": sub}),
                    register::fail(&self.config.words, code, e.message()),
                )
            }
        };
        ctx.bus.publish(TOPIC_RESULT, json!({"outTradeNo": order.trade, "ok": topic == TOPIC_QUERY_OK}));
        self.publish(ctx, topic, payload);
        if flow.to_register {
            self.tell_register(line).await;
        }
    }

    // ── quickPay ────────────────────────────────────────────────────────────────────────────

    /// Whether quickPay may charge now: a face login, inside the window, not used yet.
    fn quick_ticket(&self) -> Result<booth_face::LoginTicket, ApiError> {
        let no = |why: &str| Err(ApiError::with_message(ErrorCode::DeviceError, why.to_string()).reply_code("-1"));
        let Some(t) = self.face.login_ticket() else { return no("快速支付不可用: 没有刷脸登录") };
        if t.since.elapsed() > self.config.quick_pay {
            return no(&format!("快速支付不可用: 刷脸登录已超过 {} 秒", self.config.quick_pay.as_secs()));
        }
        if self.quick_used.lock().unwrap_or_else(|p| p.into_inner()).contains(&t.id) {
            return no("快速支付不可用: 本次登录已使用过快速支付");
        }
        if t.pay_code.is_none() {
            return no("快速支付不可用: 刷脸登录时未取得付款码 ([face] engine = \"provider\" 与 [provider])");
        }
        Ok(t)
    }

    async fn quick_pay(self: &Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let require_code = params.bool("requireFaceCode").map_err(|e| wx_fail("-1", e))?.unwrap_or(false);
        let mut flow = Flow {
            require_code,
            amount: amount_param(&params).map_err(|e| wx_fail("-1", e))?,
            trade: trade_param(&params).map_err(|e| wx_fail("-1", e))?,
            body: body_param(&params).map_err(|e| wx_fail("-1", e))?,
            to_register: false,
            hand_code: false,
        };
        let gateway = self.gateway().map_err(|e| wx_fail("-1", e))?;
        let ticket = self.quick_ticket()?;
        let pay_code = ticket.pay_code.clone().unwrap_or_default();
        if !flow.require_code {
            self.amount(&mut flow, &ctx).await.map_err(|e| wx_fail("-1", e))?;
        }
        let running = self.begin(ctx.session.id()).map_err(|e| e.reply_code("-1"))?;
        // Once per login, whatever comes of it.
        if !self.quick_used.lock().unwrap_or_else(|p| p.into_inner()).insert(ticket.id) {
            return Err(ApiError::with_message(ErrorCode::DeviceError, "快速支付不可用: 本次登录已使用过快速支付")
                .reply_code("-1"));
        }
        if flow.require_code {
            // The code the login's face was given: the mini-program charges it.
            drop(running);
            return Ok(Done::from(json!({"replyCode": "0", "reply": QUICK_OK, "faceCode": pay_code})));
        }
        let me = self.clone();
        tokio::spawn(async move {
            if flow.hand_code {
                me.hand_to_register(&ctx, &gateway, &flow, &pay_code, false).await;
            } else {
                let order = me.order(&flow);
                let outcome = me.charge(&gateway, &order, With::Code(pay_code, Kind::Quick), flow.to_register).await;
                me.report(&ctx, &flow, &order, outcome).await;
            }
            drop(running);
        });
        Ok(Done::from(json!({"replyCode": "0", "reply": QUICK_OK})))
    }

    /// Lets each face login through the provider get a payment code for its face, which
    /// quickPay charges (or hands to the page) without a second face.
    pub fn connect_login(self: &Arc<Self>) {
        let Some(gateway) = self.gateway.clone() else { return };
        let terminal = self.config.terminal.clone();
        self.face.set_login_pay_code(Arc::new(move |face| {
            let (gateway, terminal) = (gateway.clone(), terminal.clone());
            Box::pin(async move {
                match gateway.face_code(&journal::new_key(), &terminal, face).await {
                    Ok(code) => Some(code),
                    Err(e) => {
                        tracing::info!(error = %e.message(), "quickPay: no payment code for this login");
                        None
                    }
                }
            })
        }));
    }

    // ── start-up ────────────────────────────────────────────────────────────────────────────

    /// Settles every attempt the journal left open (a crash or a power cut between the charge
    /// and its answer): asks the provider under the attempt's own key and trade number and
    /// journals what it says. The page that asked is gone; the outcome is logged and shown by
    /// `booth payments`, and a cash register that asked for the payment hears `PAID` or
    /// `FAIL -10 <outTradeNo> <code>`. Returns how many were settled.
    pub async fn resolve_open(&self) -> usize {
        let Some(gateway) = self.gateway.clone() else { return 0 };
        let mut settled = 0;
        for a in self.journal.unresolved() {
            let order = Order {
                key: a.last.key.clone(),
                trade: a.last.trade.clone(),
                amount: a.last.amount,
                body: String::new(),
                terminal: self.config.terminal.clone(),
            };
            let answer = match gateway.query(&order).await {
                Ok(Queried::NotPaid { code, .. }) if code == "NOT_FOUND" => gateway.cancel(&order).await,
                other => other,
            };
            let (state, detail, payment_id) = match answer {
                Ok(Queried::Paid(c)) => (State::Paid, String::new(), c.payment_id),
                Ok(Queried::NotPaid { code, .. }) => (State::Failed, code, String::new()),
                Err(e) => {
                    tracing::warn!(trade = %order.trade, error = %e.message(), "payment: still unresolved");
                    continue;
                }
            };
            tracing::warn!(
                trade = %order.trade,
                amount = order.amount,
                state = ?state,
                "payment: an attempt left open was resolved (the page that asked is gone)"
            );
            let line = match state {
                State::Paid => register::paid(&self.config.words, &order.trade, order.amount),
                _ => register::fail(&self.config.words, "-10", &format!("{} {detail}", order.trade)),
            };
            let entry = Entry {
                at_ms: journal::now_ms(),
                key: order.key,
                trade: order.trade,
                amount: order.amount,
                kind: a.last.kind,
                state,
                payment_id,
                detail,
                recovered: true,
                register: a.last.register,
            };
            if self.journal.append(entry).is_ok() {
                settled += 1;
                // The register that asked may still be waiting for it; at start-up its port
                // may not be open yet.
                if a.last.register {
                    if let Some(pos) = self.pos.clone().filter(|_| self.register_on()) {
                        let until = Instant::now() + Duration::from_secs(15);
                        while !pos.status().available && Instant::now() < until {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                    self.tell_register(line).await;
                }
            }
        }
        settled
    }

    /// Resolves open attempts now and every `every` while the service lives (the provider may
    /// be unreachable at start-up).
    fn keep_resolving(self: &Arc<Self>, every: Duration) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(s) = me.upgrade() else { break };
                if !s.journal.unresolved().is_empty() {
                    s.resolve_open().await;
                }
                drop(s);
                tokio::time::sleep(every).await;
            }
        });
    }

    // ── the bridge ──────────────────────────────────────────────────────────────────────────

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "facePay",
            Some(Duration::from_secs(15) + self.config.code_timeout),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.face_pay(ctx, params).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "quickPay",
            Some(Duration::from_secs(15) + self.config.code_timeout),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.quick_pay(ctx, params).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "ableToQuickPay",
            None,
            handler(move |_ctx, _params| {
                let me = me.clone();
                async move {
                    me.gateway().map_err(|e| e.reply_code("-1"))?;
                    me.quick_ticket()?;
                    Ok(Done::from(json!({"replyCode": "0", "reply": "ok"})))
                }
            }),
        );
        let pass: booth_bridge::Render = Arc::new(|p: &Value| Some(p.clone()));
        bridge.register_event(Dialect::Wxfaceapp, "onFacePayPassEvent", TOPIC_PASS, pass.clone());
        bridge.register_event(Dialect::Wxfaceapp, "onFacePayFailedEvent", TOPIC_FACE_FAILED, pass.clone());
        bridge.register_event(Dialect::Wxfaceapp, "onQueryPaymentSucEvent", TOPIC_QUERY_OK, pass.clone());
        bridge.register_event(Dialect::Wxfaceapp, "onQueryPaymentFailedEvent", TOPIC_QUERY_FAILED, pass);
    }
}

/// Who is charged.
#[derive(Clone)]
enum With {
    Face(booth_provider_client::wire::Face),
    /// A customer's payment code, or the face code of the login (quickPay).
    Code(String, Kind),
}

/// The terminal's one running payment; released when dropped, wherever the guard went.
struct Running(Arc<Mutex<Option<SessionId>>>);

impl Drop for Running {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
