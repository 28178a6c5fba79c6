//! The APIs as pages call them: parameters checked before any reader is touched, replies and
//! error codes exactly as seed 000 documents them, and the two background loops.
//!
//! Replies (seed 000):
//! - `readOnceCPUCardInfo`, `sendCPUCardCommand`, `psamCardColdReset` always answer
//!   `success: true`; a failure is a negative code in `nfc_cardInfo` / `nfc_resultInfo`
//!   ("-1" 初始化失败 … "-5" 上电失败), as the seed's 错误示例 show.
//! - `sendCPUCardApduCommands` fails with `success: false`, `message: "失败:<code>"` and the
//!   results so far in `data.nfc_commandResults` (-1 no reader: `DEVICE_UNAVAILABLE`; -2 a
//!   command failed, no card or the card left: `DEVICE_ERROR`; -100 a status word other than
//!   9000: `DEVICE_ERROR`, and its answer is the last result).
//! - Bad parameters are `INVALID_PARAMS` before any reader is touched.

use crate::apdu::{exchange, is_ok, parse_apdu, to_hex, MAX_COMMANDS};
use crate::port::{CardError, Reset};
use crate::roles::Role;
use crate::sscard::{self, SsError};
use crate::{SmartCard, INTERVAL_RANGE_MS, PROBE_EVERY, TIMEOUT_RANGE_MS, TOPIC_CPU, TOPIC_SSCARD};
use booth_bridge::{handler, ApiError, Bridge, CallCtx, Dialect, Done, ErrorCode, Params};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SS_GROUP: &str = "getSocialSecurityCardInfo";

/// `type` 1 = CPU card (the card reader), 2 = PSAM in `slot` 1 or 2 (default 1).
fn target(params: &Params) -> Result<Role, ApiError> {
    let slot = params.int("slot")?.unwrap_or(1);
    let psam = Role::psam(slot).ok_or_else(|| ApiError::invalid(format!("slot 应为 1 或 2, 收到 {slot}")))?;
    match params.int("type")?.unwrap_or(1) {
        1 => Ok(Role::Card),
        2 => Ok(psam),
        t => Err(ApiError::invalid(format!("type 应为 1 (CPU卡) 或 2 (PSAM卡), 收到 {t}"))),
    }
}

fn required_str<'a>(params: &'a Params, key: &str) -> Result<&'a str, ApiError> {
    params.str(key)?.ok_or_else(|| ApiError::invalid(format!("缺少 {key}")))
}

fn commands(params: &Params) -> Result<Vec<Vec<u8>>, ApiError> {
    let list = match params.get("commandApdus") {
        None => return Err(ApiError::invalid("缺少 commandApdus")),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "commandApdus 应为字符串数组, 收到 {}",
                booth_bridge::params::kind(other)
            )))
        }
    };
    if list.is_empty() {
        return Err(ApiError::invalid("commandApdus 不能为空"));
    }
    if list.len() > MAX_COMMANDS {
        return Err(ApiError::invalid(format!("commandApdus 最多 {MAX_COMMANDS} 条, 收到 {} 条", list.len())));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => parse_apdu(&format!("commandApdus[{i}]"), s),
            other => Err(ApiError::invalid(format!(
                "commandApdus[{i}] 应为字符串, 收到 {}",
                booth_bridge::params::kind(other)
            ))),
        })
        .collect()
}

fn ok(data: Value) -> Result<Done, ApiError> {
    Ok(Done::from(data))
}

/// Replaces a loop's token with a new one (cancelling the old loop), or only cancels.
fn swap_loop(slot: &std::sync::Mutex<Option<CancellationToken>>, new: Option<CancellationToken>) {
    let old = std::mem::replace(&mut *slot.lock().unwrap_or_else(|p| p.into_inner()), new);
    if let Some(t) = old {
        t.cancel();
    }
}

pub(crate) fn register(me: &Arc<SmartCard>, bridge: &Bridge) {
    let reg = |name: &'static str, timeout: Option<Duration>, f: fn(Arc<SmartCard>, CallCtx, Params) -> Fut| {
        let me = me.clone();
        bridge.register(Dialect::My, name, timeout, handler(move |ctx, params| f(me.clone(), ctx, params)));
    };
    reg("startCPUCardLoopRead", None, |me, ctx, p| Box::pin(start_cpu_loop(me, ctx, p)));
    reg("stopCPUCardLoopRead", None, |me, _, _| Box::pin(stop_cpu_loop(me)));
    reg("readOnceCPUCardInfo", Some(Duration::from_secs(20)), |me, _, _| Box::pin(read_once(me)));
    reg("sendCPUCardCommand", Some(Duration::from_secs(30)), |me, _, p| Box::pin(send_command(me, p)));
    reg("sendCPUCardApduCommands", Some(Duration::from_secs(60)), |me, _, p| Box::pin(send_commands(me, p)));
    reg("psamCardColdReset", Some(Duration::from_secs(20)), |me, _, p| Box::pin(cold_reset(me, p)));
    let ss_limit = Duration::from_millis(*TIMEOUT_RANGE_MS.end() as u64) + Duration::from_secs(10);
    reg("getSocialSecurityCardInfo", Some(ss_limit), |me, ctx, p| Box::pin(get_ss_info(me, ctx, p)));
    reg("socialSecurityCardConfig", None, |me, ctx, _| Box::pin(ss_config(me, ctx)));
    bridge.register_event(Dialect::My, "CPUCardListener", TOPIC_CPU, Arc::new(|p: &Value| Some(p.clone())));
    bridge.register_event(
        Dialect::My,
        "socialSecurityCardListener",
        TOPIC_SSCARD,
        Arc::new(|p: &Value| Some(p.clone())),
    );
}

type Fut = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Done, ApiError>> + Send>>;

// ------------------------------------------------------------------------------------------
// CPU card.

async fn read_once(me: Arc<SmartCard>) -> Result<Done, ApiError> {
    let r = match me.worker(Role::Card) {
        Ok(w) => w.run(|p| p.power(Reset::Warm)).await.and_then(|r| r),
        Err(e) => Err(e),
    };
    match r {
        Ok(atr) => ok(json!({ "nfc_cardInfo": to_hex(&atr) })),
        Err(e) => {
            tracing::info!(error = %e, "readOnceCPUCardInfo failed");
            ok(json!({ "nfc_cardInfo": e.read_code() }))
        }
    }
}

async fn send_command(me: Arc<SmartCard>, params: Params) -> Result<Done, ApiError> {
    let apdu = parse_apdu("commandApdu", required_str(&params, "commandApdu")?)?;
    let role = target(&params)?;
    let t0 = me.config.t0_help;
    let r = match me.worker(role) {
        Ok(w) => w.run(move |p| exchange(&mut |a: &[u8]| p.transmit(a), &apdu, t0)).await.and_then(|r| r),
        Err(e) => Err(e),
    };
    match r {
        Ok(resp) => ok(json!({ "nfc_resultInfo": to_hex(&resp) })),
        Err(e) => {
            tracing::info!(%role, error = %e, "sendCPUCardCommand failed");
            ok(json!({ "nfc_resultInfo": e.command_code() }))
        }
    }
}

enum ListEnd {
    Done,
    Failed(CardError),
    BadStatus,
}

async fn send_commands(me: Arc<SmartCard>, params: Params) -> Result<Done, ApiError> {
    let list = commands(&params)?;
    let role = target(&params)?;
    let t0 = me.config.t0_help;
    let run = match me.worker(role) {
        Ok(w) => {
            w.run(move |p| {
                let mut results = Vec::with_capacity(list.len());
                for apdu in &list {
                    match exchange(&mut |a: &[u8]| p.transmit(a), apdu, t0) {
                        Ok(resp) => {
                            results.push(to_hex(&resp));
                            if !is_ok(&resp) {
                                return (results, ListEnd::BadStatus);
                            }
                        }
                        Err(e) => return (results, ListEnd::Failed(e)),
                    }
                }
                (results, ListEnd::Done)
            })
            .await
        }
        Err(e) => Err(e),
    };
    let (results, end) = run.unwrap_or_else(|e| (Vec::new(), ListEnd::Failed(e)));
    let (code, error_code) = match end {
        ListEnd::Done => return ok(json!({ "nfc_commandResults": results })),
        ListEnd::BadStatus => ("-100", ErrorCode::DeviceError),
        ListEnd::Failed(e) => {
            tracing::info!(%role, error = %e, done = results.len(), "sendCPUCardApduCommands failed");
            let ec = if e.no_reader() { ErrorCode::DeviceUnavailable } else { ErrorCode::DeviceError };
            (e.command_code(), ec)
        }
    };
    Err(ApiError::with_message(error_code, format!("失败:{code}")).data(json!({ "nfc_commandResults": results })))
}

async fn cold_reset(me: Arc<SmartCard>, params: Params) -> Result<Done, ApiError> {
    let slot = params.int("slot")?.unwrap_or(1);
    let role = Role::psam(slot).ok_or_else(|| ApiError::invalid(format!("slot 应为 1 或 2, 收到 {slot}")))?;
    let r = match me.worker(role) {
        Ok(w) => w.run(|p| p.power(Reset::Cold)).await.and_then(|r| r),
        Err(e) => Err(e),
    };
    match r {
        Ok(atr) => ok(json!({ "nfc_resultInfo": to_hex(&atr) })),
        Err(e) => {
            tracing::info!(%role, error = %e, "psamCardColdReset failed");
            ok(json!({ "nfc_resultInfo": e.command_code() }))
        }
    }
}

/// What the loop last told the listeners.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Card { insertion: u64, atr: Vec<u8> },
    Nothing,
}

async fn start_cpu_loop(me: Arc<SmartCard>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
    let interval = params
        .int_in("intervalTime", INTERVAL_RANGE_MS)?
        .map(|ms| Duration::from_millis(ms as u64))
        .unwrap_or(me.config.default_interval);
    let report_failures = params.bool("isComeBackFailed")?.unwrap_or(false);
    me.worker(Role::Card).map_err(ApiError::unavailable)?;
    // The loop belongs to the page that started it: it ends with the page.
    let token = ctx.cancel.child_token();
    swap_loop(&me.shared.cpu_loop, Some(token.clone()));
    tracing::info!(?interval, report_failures, "CPU card loop started");
    tokio::spawn(cpu_loop(me, interval, report_failures, token));
    ok(json!({}))
}

async fn stop_cpu_loop(me: Arc<SmartCard>) -> Result<Done, ApiError> {
    // Under the publish lock: a loop in the middle of publishing finishes first, and none
    // publishes after this answer.
    let _g = me.shared.publish.lock().unwrap_or_else(|p| p.into_inner());
    swap_loop(&me.shared.cpu_loop, None);
    ok(json!({}))
}

/// The CPU card loop: every [`PROBE_EVERY`] it looks at the card reader. A card (or, with
/// `isComeBackFailed`, a failed search) is reported at once when it differs from what was
/// reported last, and again every `interval` while it stays the same. A card taken out and put
/// back counts as a new card.
async fn cpu_loop(me: Arc<SmartCard>, interval: Duration, report_failures: bool, token: CancellationToken) {
    let mut last: Option<(Seen, Instant)> = None;
    loop {
        let probe = match me.worker(Role::Card) {
            Ok(w) => w.run(|p| p.presence()).await.and_then(|r| r),
            Err(e) => Err(e),
        };
        if token.is_cancelled() {
            break;
        }
        let seen = match &probe {
            Ok(p) if p.present => Seen::Card { insertion: p.insertion, atr: p.atr.clone() },
            _ => Seen::Nothing,
        };
        let now = Instant::now();
        let due = match &last {
            Some((s, at)) => *s != seen || now.duration_since(*at) >= interval,
            None => true,
        };
        if due {
            let payload = match &seen {
                Seen::Card { atr, .. } => Some(json!({ "nfc_cardInfo": to_hex(atr), "code": 0 })),
                Seen::Nothing if report_failures => Some(json!({ "nfc_cardInfo": "", "code": -1 })),
                Seen::Nothing => None,
            };
            if let Some(payload) = payload {
                let _g = me.shared.publish.lock().unwrap_or_else(|p| p.into_inner());
                if token.is_cancelled() {
                    break;
                }
                me.shared.bus.publish(TOPIC_CPU, payload);
            }
            last = Some((seen, now));
        }
        tokio::select! {
            _ = tokio::time::sleep(PROBE_EVERY) => {}
            _ = token.cancelled() => break,
        }
    }
    tracing::info!("CPU card loop stopped");
}

// ------------------------------------------------------------------------------------------
// Social security card.

fn ss_error(e: SsError) -> ApiError {
    match e {
        SsError::Card(c) if c.no_reader() || matches!(c, CardError::NoCard | CardError::Removed) => {
            ApiError::unavailable(c)
        }
        other => ApiError::new(ErrorCode::DeviceError, other),
    }
}

async fn get_ss_info(me: Arc<SmartCard>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
    // Booth addition, like getQRCode's: `event: "close"` cancels this page's pending reads.
    if ctx.event == "close" {
        ctx.session.cancel_group(SS_GROUP);
        return Ok(Done::from(json!({})).message("关闭成功"));
    }
    let cancel = ctx.session.group_token(SS_GROUP);
    let timeout = params
        .int_in("timeout", TIMEOUT_RANGE_MS)?
        .map(|ms| Duration::from_millis(ms as u64))
        .unwrap_or(me.config.sscard_timeout);
    let t0 = me.config.t0_help;
    let wait = async {
        let worker = me.worker(Role::Card).map_err(ApiError::unavailable)?;
        loop {
            let p = worker.run(|p| p.presence()).await.and_then(|r| r).map_err(ApiError::unavailable)?;
            if p.present {
                match worker.run(move |p| sscard::read(p, t0)).await {
                    Ok(Ok(info)) => return ok(json!(info)),
                    // Pulled out during the read: wait for the card to come back.
                    Ok(Err(SsError::Card(CardError::Removed | CardError::NoCard))) => {}
                    Ok(Err(e)) => return Err(ss_error(e)),
                    Err(e) => return Err(ApiError::unavailable(e)),
                }
            }
            tokio::time::sleep(PROBE_EVERY).await;
        }
    };
    tokio::select! {
        r = wait => r,
        _ = tokio::time::sleep(timeout) => Err(ApiError::bare(ErrorCode::Timeout)),
        _ = cancel.cancelled() => Err(ApiError::bare(ErrorCode::Cancelled)),
    }
}

async fn ss_config(me: Arc<SmartCard>, ctx: CallCtx) -> Result<Done, ApiError> {
    // Booth addition: `event: "close"` stops the listener.
    if ctx.event == "close" {
        let _g = me.shared.publish.lock().unwrap_or_else(|p| p.into_inner());
        swap_loop(&me.shared.ss_loop, None);
        return Ok(Done::from(json!({})).message("关闭成功"));
    }
    me.worker(Role::Card).map_err(ApiError::unavailable)?;
    let token = ctx.cancel.child_token();
    swap_loop(&me.shared.ss_loop, Some(token.clone()));
    tokio::spawn(ss_loop(me, token));
    ok(json!({}))
}

/// The social security listener: reads each card once, when it is inserted (a card already in
/// the reader when listening starts counts as inserted then).
async fn ss_loop(me: Arc<SmartCard>, token: CancellationToken) {
    tracing::info!("social security card listener started");
    let t0 = me.config.t0_help;
    let mut handled: Option<u64> = None;
    while let Ok(worker) = me.worker(Role::Card) {
        match worker.run(|p| p.presence()).await.and_then(|r| r) {
            Ok(p) if p.present => {
                if handled != Some(p.insertion) {
                    handled = Some(p.insertion);
                    match worker.run(move |p| sscard::read(p, t0)).await.map_err(SsError::Card).and_then(|r| r) {
                        Ok(info) => {
                            let _g = me.shared.publish.lock().unwrap_or_else(|p| p.into_inner());
                            if token.is_cancelled() {
                                break;
                            }
                            me.shared.bus.publish(TOPIC_SSCARD, json!(info));
                        }
                        Err(e) => tracing::warn!(error = %e, "social security card not read"),
                    }
                }
            }
            _ => handled = None,
        }
        tokio::select! {
            _ = tokio::time::sleep(PROBE_EVERY) => {}
            _ = token.cancelled() => break,
        }
    }
    tracing::info!("social security card listener stopped");
}
