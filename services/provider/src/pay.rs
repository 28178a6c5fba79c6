//! Payments: wallets with a balance per person, an append-only ledger, trades, refunds, member
//! codes and one-time face codes, all integer fen with checked arithmetic.
//!
//! A charge and the stored answer of its Idempotency-Key are one SQLite transaction, taken
//! while holding the database's only connection, so a request repeated (or sent twice at
//! once) gets the first result and never a second charge. Final refusals are kept with the key
//! too; a failure inside the provider is rolled back and not kept, so a retry works it out again.

use crate::server::{nearest, App, Refusal};
use crate::store::StoreError;
use booth_provider_client::sign;
use booth_provider_client::wire::*;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Member codes: 18 digits starting `99`; face codes: 18 digits starting `98`.
const MEMBER_PREFIX: &str = "99";
const FACE_CODE_PREFIX: &str = "98";

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub seq: i64,
    pub at: i64,
    pub person_id: String,
    /// `TOPUP`, `CHARGE`, `REFUND`.
    pub kind: String,
    pub amount: i64,
    /// +amount or -amount, as the balance moved.
    pub delta: i64,
    pub balance_after: i64,
    /// The terminal's key id (`admin` for the command line).
    pub key_id: String,
    pub terminal: String,
    pub trade_no: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub note: String,
}

/// Who asks: the signed key id and the terminal serial from the body.
pub struct Caller<'a> {
    pub key_id: &'a str,
    pub terminal: &'a str,
}

/// A wallet for `wallet show`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    pub person_id: String,
    pub balance: i64,
    pub member_code_issued_at: i64,
    pub ledger: Vec<LedgerEntry>,
}

/// The day's figures (`booth-provider report --day`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub day: String,
    /// Minutes east of UTC the day is taken in.
    pub utc_offset_minutes: i32,
    pub from: i64,
    pub to: i64,
    pub charges: Figures,
    pub refunds: Figures,
    pub top_ups: Figures,
    /// Charges less refunds, fen.
    pub net: i64,
    pub terminals: Vec<TerminalFigures>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Figures {
    pub count: i64,
    pub sum: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminalFigures {
    pub key_id: String,
    pub charges: Figures,
    pub refunds: Figures,
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Self {
        Refusal::from(StoreError::from(e))
    }
}

type Outcome<T> = Result<T, Refusal>;

fn bad(m: impl Into<String>) -> Refusal {
    Refusal(Code::BadParam, m.into())
}

fn failed(m: impl Into<String>) -> Refusal {
    Refusal(Code::PaymentFailed, m.into())
}

/// Whether a refusal is the final word on its request (kept with the Idempotency-Key).
fn is_final(code: Code) -> bool {
    !matches!(code, Code::PaymentPending | Code::VendorError | Code::Timeout | Code::Network)
}

fn check_amount(app: &App, amount: i64) -> Outcome<()> {
    if amount <= 0 {
        return Err(bad("金额 (分) 应为正整数"));
    }
    if amount > app.settings.pay_limit_fen {
        return Err(bad(format!("金额 {amount} 分超过单笔上限 {} 分", app.settings.pay_limit_fen)));
    }
    Ok(())
}

fn check_no(name: &str, v: &str) -> Outcome<()> {
    if trade_no_ok(v) {
        Ok(())
    } else {
        Err(bad(format!("{name} 应为 1-64 个字母、数字、- 或 _")))
    }
}

fn check_text(name: &str, v: &str) -> Outcome<()> {
    if v.chars().count() > 128 {
        return Err(bad(format!("{name} 超过 128 字")));
    }
    Ok(())
}

/// `n` random decimal digits (rejection sampling, so every digit is equally likely).
fn digits(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut b = [0u8; 32];
        if getrandom::fill(&mut b).is_err() {
            // Without the OS's randomness the nonce's clock fallback still differs per call.
            b.copy_from_slice(&sign::body_sha256(sign::nonce().as_bytes()).as_bytes()[..32]);
        }
        for x in b {
            if x < 250 && out.len() < n {
                out.push(char::from(b'0' + x % 10));
            }
        }
    }
    out
}

fn code_hash(code: &str) -> String {
    sign::body_sha256(code.trim().as_bytes())
}

fn new_no(prefix: char) -> String {
    format!("{prefix}{}{}", sign::now_s(), digits(10))
}

/// The POST `/v1/pay/*` endpoints: (status, body) after the idempotency record is settled.
pub fn handle(app: &App, key_id: &str, idem: &str, request_id: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    // The face search reads the database itself, so it runs before the transaction.
    let prepared = prepare(app, path, body);
    let mut conn = app.store.conn();
    let outcome = (|| -> Result<(u16, Vec<u8>, String, String), Refusal> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let stored = tx
            .query_row(
                "SELECT request, status, body FROM answer WHERE key_id = ?1 AND idem = ?2",
                params![key_id, idem],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)),
            )
            .optional()?;
        if let Some((request, status, body)) = stored {
            if request != request_id {
                return Err(bad("Idempotency-Key 已用于另一个请求"));
            }
            return Ok((u16::try_from(status).unwrap_or(502), body, String::new(), "REPEATED".into()));
        }
        let caller = Caller { key_id, terminal: prepared.as_ref().map_or("", |p| p.terminal()) };
        let result = match &prepared {
            Ok(p) => execute(app, &tx, &caller, p),
            Err(Refusal(c, m)) => Err(Refusal(*c, m.clone())),
        };
        let action = path.trim_start_matches("/v1/").replace('/', ".");
        let (status, bytes, person, outcome) = match result {
            Ok((bytes, person)) => (200, bytes, person, "OK".to_string()),
            Err(Refusal(code, message)) if is_final(code) => {
                // Whatever the request wrote goes; the refusal is kept with the key.
                drop(tx);
                let bytes = crate::server::error_body(code, &message);
                let tx = conn.transaction()?;
                keep(&tx, key_id, idem, request_id, code.status(), &bytes, path)?;
                audit(&tx, key_id, caller.terminal, &action, "", code.as_str())?;
                tx.commit()?;
                return Ok((code.status(), bytes, String::new(), code.as_str().to_string()));
            }
            Err(r) => return Err(r),
        };
        keep(&tx, key_id, idem, request_id, status, &bytes, path)?;
        // In the same transaction: one write to disk per payment.
        audit(&tx, key_id, caller.terminal, &action, &person, &outcome)?;
        tx.commit()?;
        Ok((status, bytes, person, outcome))
    })();
    drop(conn);
    match outcome {
        Ok((status, bytes, person, outcome)) => {
            let terminal = prepared.as_ref().map_or("", |p| p.terminal());
            tracing::info!(%path, key_id, terminal, person = %person, outcome, "payment");
            (status, bytes)
        }
        Err(Refusal(code, message)) => {
            tracing::warn!(%path, key_id, code = %code, "payment not settled: {message}");
            (code.status(), crate::server::error_body(code, &message))
        }
    }
}

/// Keeps the answer for the Idempotency-Key (queries change nothing and are not kept).
fn keep(
    tx: &Connection,
    key_id: &str,
    idem: &str,
    request_id: &str,
    status: u16,
    bytes: &[u8],
    path: &str,
) -> Result<(), rusqlite::Error> {
    if path == "/v1/pay/query" {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO answer (key_id, idem, request, status, body, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![key_id, idem, request_id, status, bytes, sign::now_s()],
    )?;
    Ok(())
}

fn audit(
    tx: &Connection,
    key_id: &str,
    terminal: &str,
    action: &str,
    person: &str,
    outcome: &str,
) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT INTO audit (at, key_id, terminal, action, person_id, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![sign::now_s(), key_id, terminal, action, person, outcome],
    )?;
    Ok(())
}

enum Prepared {
    Face(Box<PayFaceRequest>, String),
    Code(PayCodeRequest),
    Query(PayQueryRequest),
    Cancel(PayCancelRequest),
    Refund(PayRefundRequest),
}

impl Prepared {
    fn terminal(&self) -> &str {
        match self {
            Prepared::Face(r, _) => &r.terminal,
            Prepared::Code(r) => &r.terminal,
            Prepared::Query(r) => &r.terminal,
            Prepared::Cancel(r) => &r.terminal,
            Prepared::Refund(r) => &r.terminal,
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Outcome<T> {
    serde_json::from_slice(body).map_err(|e| bad(format!("请求格式不符: {e}")))
}

/// Parses and checks the request; for a face, finds the person.
fn prepare(app: &App, path: &str, body: &[u8]) -> Outcome<Prepared> {
    match path {
        "/v1/pay/face" => {
            let req: PayFaceRequest = parse(body)?;
            if req.require_face_code {
                if req.amount != 0 {
                    check_amount(app, req.amount)?;
                }
                if !req.out_trade_no.is_empty() {
                    check_no("outTradeNo", &req.out_trade_no)?;
                }
            } else {
                check_amount(app, req.amount)?;
                check_no("outTradeNo", &req.out_trade_no)?;
            }
            check_text("description", &req.description)?;
            crate::server::check_face(&req.face)?;
            let Some((person, _)) = nearest(app, &req.face.embedding.values, req.partition.as_ref())? else {
                return Err(Refusal(Code::NotMatched, "未找到已登记的人脸, 未扣款".into()));
            };
            Ok(Prepared::Face(Box::new(req), person))
        }
        "/v1/pay/code" => {
            let req: PayCodeRequest = parse(body)?;
            check_amount(app, req.amount)?;
            check_no("outTradeNo", &req.out_trade_no)?;
            check_text("description", &req.description)?;
            if req.code.trim().is_empty() || req.code.len() > 128 {
                return Err(bad("付款码为空或过长"));
            }
            Ok(Prepared::Code(req))
        }
        "/v1/pay/query" => {
            let req: PayQueryRequest = parse(body)?;
            if req.out_trade_no.is_empty() == req.face_code.is_empty() {
                return Err(bad("需要 outTradeNo 或 faceCode 之一"));
            }
            if !req.out_trade_no.is_empty() {
                check_no("outTradeNo", &req.out_trade_no)?;
            }
            Ok(Prepared::Query(req))
        }
        "/v1/pay/cancel" => {
            let req: PayCancelRequest = parse(body)?;
            check_no("outTradeNo", &req.out_trade_no)?;
            Ok(Prepared::Cancel(req))
        }
        "/v1/pay/refund" => {
            let req: PayRefundRequest = parse(body)?;
            check_amount(app, req.amount)?;
            check_no("outTradeNo", &req.out_trade_no)?;
            check_no("outRefundNo", &req.out_refund_no)?;
            check_text("reason", &req.reason)?;
            Ok(Prepared::Refund(req))
        }
        _ => Err(Refusal(Code::NotFound, format!("POST {path}: 没有这个接口"))),
    }
}

fn json<T: Serialize>(v: &T) -> Outcome<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Refusal(Code::VendorError, e.to_string()))
}

/// Carries out a prepared request inside the transaction: (answer body, person concerned).
fn execute(app: &App, tx: &Connection, caller: &Caller, p: &Prepared) -> Outcome<(Vec<u8>, String)> {
    match p {
        Prepared::Face(req, person) if req.require_face_code => {
            let code = issue_face_code(app, tx, caller, person, req.amount, &req.out_trade_no)?;
            Ok((json(&code)?, person.clone()))
        }
        Prepared::Face(req, person) => {
            let pay = charge(tx, caller, person, req.amount, &req.out_trade_no, &req.description, "face", "")?;
            Ok((json(&pay)?, pay.person_id))
        }
        Prepared::Code(req) => {
            let pay = pay_code(tx, caller, req)?;
            Ok((json(&pay)?, pay.person_id))
        }
        Prepared::Query(req) => {
            let pay = query(tx, caller, req)?;
            Ok((json(&pay)?, pay.person_id))
        }
        Prepared::Cancel(req) => {
            let pay = cancel(tx, caller, &req.out_trade_no)?;
            Ok((json(&pay)?, pay.person_id))
        }
        Prepared::Refund(req) => {
            let r = refund(tx, caller, &req.out_trade_no, &req.out_refund_no, req.amount, &req.reason)?;
            Ok((json(&r)?, r.payment.person_id.clone()))
        }
    }
}

fn status_str(s: PayStatus) -> &'static str {
    match s {
        PayStatus::Success => "SUCCESS",
        PayStatus::Refunded => "REFUNDED",
        PayStatus::Revoked => "REVOKED",
        PayStatus::Closed => "CLOSED",
    }
}

fn status_of(s: &str) -> PayStatus {
    match s {
        "REFUNDED" => PayStatus::Refunded,
        "REVOKED" => PayStatus::Revoked,
        "CLOSED" => PayStatus::Closed,
        _ => PayStatus::Success,
    }
}

/// The trade of a number, if any.
pub fn trade(tx: &Connection, out_trade_no: &str) -> Result<Option<Payment>, rusqlite::Error> {
    tx.query_row(
        "SELECT out_trade_no, trade_no, status, amount, refunded, person_id, method, description, paid_at
         FROM trade WHERE out_trade_no = ?1",
        params![out_trade_no],
        |r| {
            Ok(Payment {
                out_trade_no: r.get(0)?,
                trade_no: r.get(1)?,
                status: status_of(&r.get::<_, String>(2)?),
                amount: r.get(3)?,
                refunded: r.get(4)?,
                person_id: r.get(5)?,
                method: r.get(6)?,
                description: r.get(7)?,
                paid_at: r.get(8)?,
            })
        },
    )
    .optional()
}

/// An existing trade under the same number: the payment already made (same amount), refused
/// (closed, or another amount), or `None` for a new number.
fn already(tx: &Connection, out_trade_no: &str, amount: i64) -> Outcome<Option<Payment>> {
    match trade(tx, out_trade_no)? {
        None => Ok(None),
        Some(t) if t.status == PayStatus::Closed => Err(failed(format!("交易 {out_trade_no} 已关闭, 不能再付款"))),
        Some(t) if t.amount != amount => {
            Err(bad(format!("交易 {out_trade_no} 已以 {} 分付款, 与本次金额 {amount} 分不符", t.amount)))
        }
        Some(t) => Ok(Some(t)),
    }
}

/// Moves a wallet's balance by `delta` and appends the ledger line, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
fn post(
    tx: &Connection,
    person: &str,
    kind: &str,
    amount: i64,
    delta: i64,
    key_id: &str,
    terminal: &str,
    trade_no: &str,
    out_trade_no: &str,
    out_refund_no: &str,
    note: &str,
) -> Outcome<i64> {
    let now = sign::now_s();
    let balance: Option<i64> =
        tx.query_row("SELECT balance FROM wallet WHERE person_id = ?1", params![person], |r| r.get(0)).optional()?;
    let balance = match balance {
        Some(b) => b,
        None => {
            tx.execute("INSERT INTO wallet (person_id, balance, created_at) VALUES (?1, 0, ?2)", params![person, now])?;
            0
        }
    };
    let after = balance.checked_add(delta).ok_or_else(|| bad("余额超出范围"))?;
    if after < 0 {
        return Err(Refusal(Code::InsufficientFunds, format!("余额不足: 余额 {balance} 分, 需付 {amount} 分")));
    }
    tx.execute("UPDATE wallet SET balance = ?2 WHERE person_id = ?1", params![person, after])?;
    tx.execute(
        "INSERT INTO ledger (at, person_id, kind, amount, delta, balance_after, key_id, terminal, trade_no,
                             out_trade_no, out_refund_no, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![now, person, kind, amount, delta, after, key_id, terminal, trade_no, out_trade_no, out_refund_no, note],
    )?;
    Ok(after)
}

/// Charges `person` for a new trade number, or answers the payment already made under it.
#[allow(clippy::too_many_arguments)]
fn charge(
    tx: &Connection,
    caller: &Caller,
    person: &str,
    amount: i64,
    out_trade_no: &str,
    description: &str,
    method: &str,
    face_code_hash: &str,
) -> Outcome<Payment> {
    if let Some(existing) = already(tx, out_trade_no, amount)? {
        return Ok(existing);
    }
    let trade_no = new_no('T');
    let delta = amount.checked_neg().ok_or_else(|| bad("金额超出范围"))?;
    post(
        tx,
        person,
        "CHARGE",
        amount,
        delta,
        caller.key_id,
        caller.terminal,
        &trade_no,
        out_trade_no,
        "",
        description,
    )?;
    let now = sign::now_s();
    tx.execute(
        "INSERT INTO trade (out_trade_no, trade_no, key_id, terminal, person_id, method, description, amount,
                            refunded, status, face_code_hash, paid_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 'SUCCESS', ?9, ?10, ?10)",
        params![
            out_trade_no,
            trade_no,
            caller.key_id,
            caller.terminal,
            person,
            method,
            description,
            amount,
            face_code_hash,
            now
        ],
    )?;
    Ok(Payment {
        out_trade_no: out_trade_no.into(),
        trade_no,
        status: PayStatus::Success,
        amount,
        refunded: 0,
        person_id: person.into(),
        method: method.into(),
        description: description.into(),
        paid_at: now,
    })
}

fn issue_face_code(
    app: &App,
    tx: &Connection,
    caller: &Caller,
    person: &str,
    cap: i64,
    out_trade_no: &str,
) -> Outcome<FaceCode> {
    if !out_trade_no.is_empty() {
        if let Some(t) = trade(tx, out_trade_no)? {
            let why = if t.status == PayStatus::Closed { "已关闭" } else { "已付款" };
            return Err(failed(format!("交易 {out_trade_no} {why}")));
        }
    }
    let code = format!("{FACE_CODE_PREFIX}{}", digits(16));
    let now = sign::now_s();
    let expires_at = now + app.settings.face_code_ttl_s;
    tx.execute(
        "INSERT INTO face_code (code_hash, person_id, key_id, terminal, cap, out_trade_no, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![code_hash(&code), person, caller.key_id, caller.terminal, cap, out_trade_no, now, expires_at],
    )?;
    Ok(FaceCode { face_code: code, person_id: person.into(), expires_at })
}

fn pay_code(tx: &Connection, caller: &Caller, req: &PayCodeRequest) -> Outcome<Payment> {
    if let Some(existing) = already(tx, &req.out_trade_no, req.amount)? {
        return Ok(existing);
    }
    let code = req.code.trim();
    let well_formed = code.len() == 18 && code.bytes().all(|b| b.is_ascii_digit());
    if well_formed && code.starts_with(MEMBER_PREFIX) {
        let person: Option<String> = tx
            .query_row("SELECT person_id FROM wallet WHERE member_code_hash = ?1", params![code_hash(code)], |r| {
                r.get(0)
            })
            .optional()?;
        let person = person.ok_or_else(|| failed("付款码无效 (已更换或不存在)"))?;
        return charge(tx, caller, &person, req.amount, &req.out_trade_no, &req.description, "member-code", "");
    }
    if well_formed && code.starts_with(FACE_CODE_PREFIX) {
        let hash = code_hash(code);
        let row: Option<(String, i64, String, i64, String)> = tx
            .query_row(
                "SELECT person_id, cap, out_trade_no, expires_at, used_by FROM face_code WHERE code_hash = ?1",
                params![hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let (person, cap, bound, expires_at, used_by) = row.ok_or_else(|| failed("付款码无效"))?;
        if !used_by.is_empty() {
            return Err(failed("付款码已使用"));
        }
        if expires_at <= sign::now_s() {
            return Err(failed("付款码已过期"));
        }
        if cap > 0 && req.amount > cap {
            return Err(failed(format!("金额 {} 分超过付款码限额 {cap} 分", req.amount)));
        }
        if !bound.is_empty() && bound != req.out_trade_no {
            return Err(failed("付款码属于另一笔交易"));
        }
        let pay = charge(tx, caller, &person, req.amount, &req.out_trade_no, &req.description, "face-code", &hash)?;
        tx.execute("UPDATE face_code SET used_by = ?2 WHERE code_hash = ?1", params![hash, req.out_trade_no])?;
        return Ok(pay);
    }
    Err(failed("不是本提供方的付款码"))
}

fn query(tx: &Connection, caller: &Caller, req: &PayQueryRequest) -> Outcome<Payment> {
    if !req.out_trade_no.is_empty() {
        return trade(tx, &req.out_trade_no)?
            .ok_or_else(|| Refusal(Code::NotFound, format!("没有交易 {} (未扣款)", req.out_trade_no)));
    }
    let row: Option<(String, i64, String)> = tx
        .query_row(
            "SELECT key_id, expires_at, used_by FROM face_code WHERE code_hash = ?1",
            params![code_hash(&req.face_code)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    // A terminal learns about the face codes it issued only.
    let Some((_, expires_at, used_by)) = row.filter(|(k, _, _)| k == caller.key_id) else {
        return Err(Refusal(Code::NotFound, "没有这个付款码".into()));
    };
    if !used_by.is_empty() {
        return trade(tx, &used_by)?.ok_or_else(|| Refusal(Code::VendorError, "付款码的交易不见了".into()));
    }
    if expires_at <= sign::now_s() {
        return Err(failed("付款码已过期, 未付款"));
    }
    Err(Refusal(Code::PaymentPending, "付款码尚未使用".into()))
}

/// After it the number is `CLOSED` (never charged, never will be) or `REVOKED` (the rest of
/// the charge returned); a number already settled stays as it is.
pub fn cancel(tx: &Connection, caller: &Caller, out_trade_no: &str) -> Outcome<Payment> {
    let now = sign::now_s();
    match trade(tx, out_trade_no)? {
        None => {
            tx.execute(
                "INSERT INTO trade (out_trade_no, trade_no, key_id, terminal, person_id, method, description, amount,
                                    refunded, status, face_code_hash, paid_at, updated_at)
                 VALUES (?1, '', ?2, ?3, '', '', '', 0, 0, 'CLOSED', '', 0, ?4)",
                params![out_trade_no, caller.key_id, caller.terminal, now],
            )?;
            Ok(trade(tx, out_trade_no)?.ok_or_else(|| Refusal(Code::VendorError, "交易未记下".into()))?)
        }
        Some(t) if t.status == PayStatus::Success => {
            let rest = t.amount.checked_sub(t.refunded).ok_or_else(|| bad("金额超出范围"))?;
            if rest > 0 {
                post(
                    tx,
                    &t.person_id,
                    "REFUND",
                    rest,
                    rest,
                    caller.key_id,
                    caller.terminal,
                    &t.trade_no,
                    out_trade_no,
                    "",
                    "撤销",
                )?;
            }
            tx.execute(
                "UPDATE trade SET refunded = amount, status = 'REVOKED', updated_at = ?2 WHERE out_trade_no = ?1",
                params![out_trade_no, now],
            )?;
            Ok(trade(tx, out_trade_no)?.ok_or_else(|| Refusal(Code::VendorError, "交易不见了".into()))?)
        }
        Some(t) => Ok(t),
    }
}

/// Refunds `amount` of a charge once per `out_refund_no` (the same again: the refund made).
pub fn refund(
    tx: &Connection,
    caller: &Caller,
    out_trade_no: &str,
    out_refund_no: &str,
    amount: i64,
    reason: &str,
) -> Outcome<Refund> {
    let earlier: Option<(String, String, i64, i64)> = tx
        .query_row(
            "SELECT refund_no, out_trade_no, amount, at FROM refund WHERE out_refund_no = ?1",
            params![out_refund_no],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some((refund_no, of, was, at)) = earlier {
        if of != out_trade_no || was != amount {
            return Err(bad(format!("退款单号 {out_refund_no} 已用于另一笔退款")));
        }
        let payment = trade(tx, out_trade_no)?.ok_or_else(|| Refusal(Code::VendorError, "交易不见了".into()))?;
        return Ok(Refund { out_refund_no: out_refund_no.into(), refund_no, amount, refunded_at: at, payment });
    }
    let t = trade(tx, out_trade_no)?.ok_or_else(|| Refusal(Code::NotFound, format!("没有交易 {out_trade_no}")))?;
    if matches!(t.status, PayStatus::Closed | PayStatus::Revoked) {
        return Err(failed(format!("交易 {out_trade_no} 已撤销, 不能退款")));
    }
    let left = t.amount.checked_sub(t.refunded).ok_or_else(|| bad("金额超出范围"))?;
    if amount > left {
        return Err(bad(format!("退款 {amount} 分超过可退金额 {left} 分")));
    }
    let refund_no = new_no('R');
    post(
        tx,
        &t.person_id,
        "REFUND",
        amount,
        amount,
        caller.key_id,
        caller.terminal,
        &t.trade_no,
        out_trade_no,
        out_refund_no,
        reason,
    )?;
    let now = sign::now_s();
    let refunded = t.refunded.checked_add(amount).ok_or_else(|| bad("金额超出范围"))?;
    let status = if refunded == t.amount { PayStatus::Refunded } else { PayStatus::Success };
    tx.execute(
        "UPDATE trade SET refunded = ?2, status = ?3, updated_at = ?4 WHERE out_trade_no = ?1",
        params![out_trade_no, refunded, status_str(status), now],
    )?;
    tx.execute(
        "INSERT INTO refund (out_refund_no, refund_no, out_trade_no, amount, reason, key_id, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![out_refund_no, refund_no, out_trade_no, amount, reason, caller.key_id, now],
    )?;
    let payment = trade(tx, out_trade_no)?.ok_or_else(|| Refusal(Code::VendorError, "交易不见了".into()))?;
    Ok(Refund { out_refund_no: out_refund_no.into(), refund_no, amount, refunded_at: now, payment })
}

// The administrator's side (the command line and the tests).

const ADMIN: Caller<'static> = Caller { key_id: "admin", terminal: "admin" };

fn in_tx<T>(app: &App, f: impl FnOnce(&Connection) -> Outcome<T>) -> Result<T, String> {
    let mut conn = app.store.conn();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| e.to_string())?;
    let v = f(&tx).map_err(|Refusal(c, m)| format!("{c}: {m}"))?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(v)
}

/// Adds `amount` fen to a person's wallet (made on first use); the new balance.
pub fn top_up(app: &App, person: &str, amount: i64, note: &str) -> Result<i64, String> {
    if !app.store.person_exists(person).map_err(|e| e.to_string())? {
        return Err(format!("no person {person}"));
    }
    check_amount(app, amount).map_err(|Refusal(c, m)| format!("{c}: {m}"))?;
    let after = in_tx(app, |tx| post(tx, person, "TOPUP", amount, amount, "admin", "admin", "", "", "", note))?;
    app.store.audit("admin", "admin", "wallet.top-up", person, "OK");
    Ok(after)
}

/// A refund by the administrator (`out_refund_no` empty: a new one).
pub fn admin_refund(
    app: &App,
    out_trade_no: &str,
    out_refund_no: &str,
    amount: i64,
    reason: &str,
) -> Result<Refund, String> {
    let out_refund_no = if out_refund_no.is_empty() { new_no('A') } else { out_refund_no.to_string() };
    let e = |Refusal(c, m): Refusal| format!("{c}: {m}");
    check_amount(app, amount).map_err(e)?;
    check_no("out-trade-no", out_trade_no).map_err(e)?;
    check_no("out-refund-no", &out_refund_no).map_err(e)?;
    let r = in_tx(app, |tx| refund(tx, &ADMIN, out_trade_no, &out_refund_no, amount, reason))?;
    app.store.audit("admin", "admin", "wallet.refund", &r.payment.person_id, "OK");
    Ok(r)
}

/// Issues a member code for a person, replacing the one they had: printed once, kept hashed.
pub fn issue_member_code(app: &App, person: &str) -> Result<String, String> {
    if !app.store.person_exists(person).map_err(|e| e.to_string())? {
        return Err(format!("no person {person}"));
    }
    let code = format!("{MEMBER_PREFIX}{}", digits(16));
    in_tx(app, |tx| {
        let now = sign::now_s();
        tx.execute(
            "INSERT INTO wallet (person_id, balance, created_at) VALUES (?1, 0, ?2) ON CONFLICT(person_id) DO NOTHING",
            params![person, now],
        )?;
        tx.execute(
            "UPDATE wallet SET member_code_hash = ?2, code_issued_at = ?3 WHERE person_id = ?1",
            params![person, code_hash(&code), now],
        )?;
        Ok(())
    })?;
    app.store.audit("admin", "admin", "wallet.code", person, "ISSUED");
    Ok(code)
}

fn entries(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<LedgerEntry>, rusqlite::Error> {
    let mut stmt = conn.prepare(&format!(
        "SELECT seq, at, person_id, kind, amount, delta, balance_after, key_id, terminal, trade_no, out_trade_no,
                out_refund_no, note FROM ledger {filter} ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map(args, |r| {
            Ok(LedgerEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                person_id: r.get(2)?,
                kind: r.get(3)?,
                amount: r.get(4)?,
                delta: r.get(5)?,
                balance_after: r.get(6)?,
                key_id: r.get(7)?,
                terminal: r.get(8)?,
                trade_no: r.get(9)?,
                out_trade_no: r.get(10)?,
                out_refund_no: r.get(11)?,
                note: r.get(12)?,
            })
        })?
        .collect();
    rows
}

/// The whole ledger, oldest first.
pub fn ledger(app: &App) -> Result<Vec<LedgerEntry>, String> {
    entries(&app.store.conn(), "", &[]).map_err(|e| e.to_string())
}

/// A person's balance (0 without a wallet).
pub fn balance(app: &App, person: &str) -> Result<i64, String> {
    let conn = app.store.conn();
    let b: Option<i64> = conn
        .query_row("SELECT balance FROM wallet WHERE person_id = ?1", params![person], |r| r.get(0))
        .optional()
        .map_err(|e| e.to_string())?;
    Ok(b.unwrap_or(0))
}

pub fn wallet(app: &App, person: &str) -> Result<Wallet, String> {
    let conn = app.store.conn();
    let row: Option<(i64, i64)> = conn
        .query_row("SELECT balance, code_issued_at FROM wallet WHERE person_id = ?1", params![person], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(|e| e.to_string())?;
    let (balance, issued) = row.ok_or_else(|| format!("no wallet for {person}"))?;
    let ledger = entries(&conn, "WHERE person_id = ?1", &[&person]).map_err(|e| e.to_string())?;
    Ok(Wallet { person_id: person.into(), balance, member_code_issued_at: issued, ledger })
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` → the Unix seconds the day starts at, `offset_min` east of UTC.
pub fn day_start(day: &str, offset_min: i32) -> Result<i64, String> {
    let parts: Vec<&str> = day.split('-').collect();
    let bad_day = || format!("--day {day}: expected YYYY-MM-DD");
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad_day());
    }
    let n = |s: &str| s.parse::<i64>().map_err(|_| bad_day());
    let (y, m, d) = (n(parts[0])?, n(parts[1])?, n(parts[2])?);
    let month_days = [
        31,
        if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return Err(bad_day());
    }
    Ok(days_from_civil(y, m, d) * 86_400 - i64::from(offset_min) * 60)
}

/// The day's charges, refunds and top-ups, in all and per terminal (the signed key id).
pub fn report(app: &App, day: &str) -> Result<Report, String> {
    let offset = app.settings.utc_offset_minutes;
    let from = day_start(day, offset)?;
    let to = from + 86_400;
    let conn = app.store.conn();
    let mut stmt = conn
        .prepare(
            "SELECT key_id, kind, count(*), coalesce(sum(amount), 0) FROM ledger
             WHERE at >= ?1 AND at < ?2 GROUP BY key_id, kind ORDER BY key_id, kind",
        )
        .map_err(|e| e.to_string())?;
    let rows: Vec<(String, String, i64, i64)> = stmt
        .query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let mut report = Report {
        day: day.into(),
        utc_offset_minutes: offset,
        from,
        to,
        charges: Figures::default(),
        refunds: Figures::default(),
        top_ups: Figures::default(),
        net: 0,
        terminals: vec![],
    };
    let add = |f: &mut Figures, count: i64, sum: i64| -> Result<(), String> {
        f.count = f.count.checked_add(count).ok_or("count overflow")?;
        f.sum = f.sum.checked_add(sum).ok_or("sum overflow")?;
        Ok(())
    };
    for (key_id, kind, count, sum) in rows {
        if kind == "TOPUP" {
            add(&mut report.top_ups, count, sum)?;
            continue;
        }
        if report.terminals.last().is_none_or(|t| t.key_id != key_id) {
            report.terminals.push(TerminalFigures {
                key_id: key_id.clone(),
                charges: Figures::default(),
                refunds: Figures::default(),
            });
        }
        let Some(t) = report.terminals.last_mut() else { continue };
        match kind.as_str() {
            "CHARGE" => {
                add(&mut t.charges, count, sum)?;
                add(&mut report.charges, count, sum)?;
            }
            _ => {
                add(&mut t.refunds, count, sum)?;
                add(&mut report.refunds, count, sum)?;
            }
        }
    }
    report.net = report.charges.sum.checked_sub(report.refunds.sum).ok_or("net overflow")?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(day_start("1970-01-01", 0).unwrap(), 0);
        assert_eq!(day_start("2026-12-03", 0).unwrap(), 1_796_256_000);
        assert_eq!(day_start("2026-12-03", 480).unwrap(), 1_796_256_000 - 8 * 3600);
        assert_eq!(day_start("2024-02-29", 0).unwrap(), 1_709_164_800);
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "yesterday", "2026-00-10"] {
            assert!(day_start(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_are_digits() {
        let c = digits(16);
        assert_eq!(c.len(), 16);
        assert!(c.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(digits(16), c);
    }
}
