//! The bridge under a storm of generated requests for every dialect (valid, mutated, garbage,
//! unknown names, deep nesting, oversized), with subscriptions, device events, reloads, pages
//! that vanish and calls racing with the end of their session.
//!
//! Checked for every call: exactly one reply, well-formed for its dialect, with the error code
//! the README's rules give for its kind of input, `action`/`event`/`taskId` echoed as sent, no
//! success for a dialect or permission the page was not granted, and no reply much larger than
//! the request. Checked at the end: no session, subscription, call, task or page sink left.
//!
//! `cargo test -p booth-bridge --test fuzz` runs 20,000 messages. The long run:
//! `BOOTH_FUZZ_MESSAGES=1000000 cargo test --release -p booth-bridge --test fuzz -- --nocapture`
//! (`BOOTH_FUZZ_SEED` picks another sequence; a failure prints its seed and message number).

use booth_bridge::api::{self, Kind};
use booth_bridge::fuzz::{Generated, Generator, Rng, Shape};
use booth_bridge::params::clip;
use booth_bridge::{
    handler, wait_for_event, ApiError, Bridge, Dialect, Done, ErrorCode, EventMessage, EventSink, Family, Limits,
    Params, Reply, Screen, SessionId, SessionInfo, Stats, MAX_NAME_SHOWN,
};
use futures::FutureExt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Handler panics and renderer panics the test provoked on purpose.
static HANDLER_PANICS: AtomicUsize = AtomicUsize::new(0);
static RENDER_PANICS: AtomicUsize = AtomicUsize::new(0);
/// Events delivered to pages, over all of them.
static DELIVERED: AtomicUsize = AtomicUsize::new(0);
static BAD_EVENTS: AtomicUsize = AtomicUsize::new(0);

const TOPICS: [&str; 3] = ["fuzz.code", "fuzz.key", "fuzz.status"];

/// A handler for every call of the contract, each behaving like one kind of real plugin call:
/// reading typed parameters, failing, waiting for a device event (cancellable by a close call),
/// closing, pushing events from a background task, or (rarely) panicking.
fn register_everything(bridge: &Bridge) {
    for (i, spec) in api::APIS.iter().enumerate() {
        match spec.kind {
            Kind::Call => bridge.register(spec.dialect, spec.name, None, behaviour(i % 6)),
            Kind::Event => {
                let topic = TOPICS[i % TOPICS.len()];
                bridge.register_event(
                    spec.dialect,
                    spec.name,
                    topic,
                    Arc::new(|payload: &Value| {
                        if payload == "\u{202E}evil" {
                            RENDER_PANICS.fetch_add(1, Ordering::SeqCst);
                            panic!("fuzz renderer: provoked");
                        }
                        (!payload.is_null()).then(|| payload.clone())
                    }),
                )
            }
        }
    }
}

fn behaviour(kind: usize) -> Arc<dyn booth_bridge::Handler> {
    match kind {
        0 => handler(|_ctx, p: Params| async move {
            let text = p.str("text")?.map(str::len);
            let timeout = p.int("timeout")?;
            let mode = p.bool("mode")?;
            Ok(Done::from(json!({"text": text, "timeout": timeout, "mode": mode})))
        }),
        1 => handler(|_ctx, p: Params| async move {
            let volume = p.int_in("volume", 0..=100)?;
            if p.get("cmd").is_some() {
                return Err(ApiError::unavailable("模拟设备已拔出"));
            }
            Ok(Done::from(json!({"volume": volume})))
        }),
        2 => handler(|ctx, p: Params| async move {
            let rx = ctx.bus.subscribe();
            let wait = Duration::from_millis(p.int_in("timeout", 0..=60_000)?.unwrap_or(20).clamp(1, 30) as u64);
            let cancel = ctx.session.group_token("wait");
            let code = wait_for_event(rx, wait, &cancel, "总线已关闭", |ev| {
                (ev.topic == "fuzz.code").then(|| Ok(ev.payload.clone()))
            })
            .await?;
            Ok(Done::from(json!({"code": code})))
        }),
        3 => handler(|ctx, _p: Params| async move {
            let any = ctx.session.cancel_group("wait");
            Ok(Done::from(json!({"closed": any})).message("关闭成功"))
        }),
        4 => handler(|ctx, _p: Params| async move {
            let (bus, cancel, id) = (ctx.bus.clone(), ctx.cancel.clone(), ctx.session.id());
            tokio::spawn(async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = tokio::time::sleep(Duration::from_millis(3)) => {
                        bus.publish_to(id, "fuzz.key", json!({"key": "F1"}));
                    }
                }
            });
            Ok(Done::from(json!({"started": true})))
        }),
        _ => handler(|_ctx, p: Params| async move {
            if p.0.len() == 3 && p.get("type").is_some_and(Value::is_number) {
                HANDLER_PANICS.fetch_add(1, Ordering::SeqCst);
                panic!("fuzz handler: provoked");
            }
            tokio::task::yield_now().await;
            Ok(Done::from(json!({"yielded": true})))
        }),
    }
}

/// A page's event channel: checks each event's shape, and can go away like a closed webview.
struct Sink {
    gone: AtomicBool,
}

impl EventSink for Sink {
    fn deliver(&self, m: EventMessage) -> bool {
        if self.gone.load(Ordering::SeqCst) {
            return false;
        }
        let ok = match m.dialect {
            Dialect::My => m.body.as_object().is_some_and(|o| o.len() == 1 && o.contains_key("data")),
            _ => !m.body.is_null(),
        };
        if !ok {
            BAD_EVENTS.fetch_add(1, Ordering::SeqCst);
        }
        DELIVERED.fetch_add(1, Ordering::SeqCst);
        true
    }
}

struct Page {
    id: SessionId,
    info: SessionInfo,
    sink: Arc<Sink>,
}

/// What a page was granted, drawn at random: some pages get everything, some little or nothing.
fn page_info(rng: &mut Rng, key: &str) -> SessionInfo {
    let everything = rng.percent(40);
    let dialects: HashSet<Dialect> = Dialect::ALL.into_iter().filter(|_| everything || rng.percent(60)).collect();
    let permissions: HashSet<Family> =
        Family::GRANTABLE.into_iter().filter(|_| everything || rng.percent(40)).collect();
    SessionInfo {
        key: key.into(),
        package_id: "fuzz".into(),
        permissions,
        dialects,
        screen: Screen::Front,
        url: "booth://localhost/fuzz.html".into(),
    }
}

/// What the call's session was when it was sent.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    /// Open, as far as the driver knows (a page may vanish concurrently).
    Open,
    /// Ended by the driver before the call.
    Ended,
}

/// The contract entry a request names, by the router's rule for `my`.
fn named_spec(g: &Generated, parsed: Option<&Value>) -> Option<&'static api::ApiSpec> {
    let name = if g.dialect == Dialect::My && g.name == "ampeHHCommunication" {
        parsed?.get("action")?.as_str()?
    } else {
        g.name.as_str()
    };
    let ampe = g.dialect == Dialect::My && g.name == "ampeHHCommunication";
    api::lookup(g.dialect, name, Kind::Call)
        .filter(|s| g.dialect != Dialect::My || api::MY_TOP_LEVEL_CALLS.contains(&s.name) != ampe)
}

/// The request as the router reads it, when it can be read at all.
fn readable(g: &Generated, limits: &Limits) -> Option<Value> {
    if g.raw.len() > limits.max_params_bytes || matches!(g.shape, Shape::Deep) {
        return None;
    }
    serde_json::from_str(&g.raw).ok()
}

/// Checks one reply against the README's rules; `Err` says what is wrong.
fn check(g: &Generated, target: Target, info: &SessionInfo, reply: &Reply, limits: &Limits) -> Result<String, String> {
    let body = reply.body.as_object().ok_or("reply body is not an object")?;
    let ampe = g.dialect == Dialect::My && g.name == "ampeHHCommunication";
    let parsed = readable(g, limits);
    let failed = if ampe { body.get("success") == Some(&Value::Bool(false)) } else { !reply.ok };

    // The shape of the dialect.
    if ampe {
        if !reply.ok {
            return Err("ampeHHCommunication answers through success()".into());
        }
        let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let want: &[&str] = if failed {
            &["action", "data", "errorCode", "event", "message", "success", "taskId"]
        } else {
            &["action", "data", "event", "message", "success", "taskId"]
        };
        if keys != want {
            return Err(format!("ampe reply keys {keys:?}"));
        }
        if !body["message"].is_string() || !body["data"].is_object() {
            return Err("ampe message/data of the wrong type".into());
        }
        // The echo: as sent (the last of repeated keys), or the defaults when unreadable (also
        // from an ended session, whose request is not read).
        let obj = parsed.as_ref().and_then(Value::as_object).filter(|_| target == Target::Open);
        let echoed = |key: &str, default: Value| obj.and_then(|o| o.get(key).cloned()).unwrap_or(default);
        let (action, event, task) = match obj {
            Some(_) => (echoed("action", json!("")), echoed("event", json!("open")), echoed("taskId", json!(""))),
            None => (json!(""), json!("open"), json!("")),
        };
        if body["action"] != action || body["taskId"] != task || (failed && body["event"] != event) {
            return Err(format!(
                "ampe echo differs from the request ({}): got {}/{}/{}, sent {}/{}/{}",
                clip(&body["message"].to_string(), 200),
                clip(&body["action"].to_string(), 80),
                clip(&body["event"].to_string(), 80),
                clip(&body["taskId"].to_string(), 80),
                clip(&action.to_string(), 80),
                clip(&event.to_string(), 80),
                clip(&task.to_string(), 80)
            ));
        }
    } else if failed {
        let needs: &[&str] = match g.dialect {
            Dialect::My => &["success", "message", "errorCode"],
            Dialect::Wxfaceapp => &["replyCode", "reply", "errorCode"],
            Dialect::Ft => &["errMsg", "errorCode"],
        };
        for k in needs {
            if !body.get(*k).is_some_and(|v| v.is_string() || v == &Value::Bool(false)) {
                return Err(format!("failure reply lacks {k}"));
            }
        }
        if g.dialect == Dialect::My && g.name == "startBizService" && body.get("resultStatus") != Some(&json!("4000")) {
            return Err("startBizService failure without resultStatus 4000".into());
        }
        if g.dialect == Dialect::Ft {
            let prefix = format!("{}:fail ", clip(&g.name, MAX_NAME_SHOWN));
            if !body["errMsg"].as_str().is_some_and(|m| m.starts_with(&prefix)) {
                return Err("ft errMsg does not start with <name>:fail".into());
            }
        }
    }

    // No amplification: a reply repeats the request at most once, plus a bounded message.
    let size = reply.body.to_string().len();
    if size > g.raw.len() + 8 * 1024 {
        return Err(format!("reply of {size} bytes for a request of {}", g.raw.len()));
    }

    let code = if failed {
        let c = body.get("errorCode").and_then(Value::as_str).ok_or("failure without errorCode")?;
        if !ErrorCode::ALL.iter().any(|k| k.as_str() == c) {
            return Err(format!("undocumented errorCode {c}"));
        }
        c.to_string()
    } else {
        "OK".to_string()
    };

    // A success only for what the manifest grants.
    let spec = named_spec(g, parsed.as_ref());
    if !failed {
        let spec = spec.ok_or("success for a name outside the contract")?;
        if !info.dialects.contains(&g.dialect) || !info.allows(spec.family) {
            return Err(format!("success for {} without its dialect or permission", spec.name));
        }
    }

    // The code the kind of input deserves.
    let allowed: &[&str] = match (target, g.shape) {
        (Target::Ended, _) => &["SESSION_ENDED"],
        // The driver alone opens and ends sessions, so an open one stays open until its reply.
        _ if code == "SESSION_ENDED" => return Err("SESSION_ENDED for an open session".into()),
        (_, Shape::Oversize) => &["PAYLOAD_TOO_LARGE"],
        (_, Shape::Deep | Shape::Garbage) => &["INVALID_PARAMS"],
        (_, Shape::UnknownName) if spec.is_none() => &["UNSUPPORTED", "INVALID_PARAMS"],
        _ => &[],
    };
    if !allowed.is_empty() && !allowed.contains(&code.as_str()) {
        return Err(format!("{code}, expected one of {allowed:?}"));
    }
    if code == "PAYLOAD_TOO_LARGE" && g.shape != Shape::Oversize {
        return Err("PAYLOAD_TOO_LARGE for a request within the limit".into());
    }
    Ok(code)
}

#[derive(Default)]
struct Tally {
    messages: u64,
    calls: u64,
    answered: u64,
    subscriptions: u64,
    events: u64,
    reloads: u64,
    codes: BTreeMap<String, u64>,
    shapes: BTreeMap<String, u64>,
}

type Pending = (u64, Generated, Target, SessionInfo, Reply);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_answered_once_well_formed_and_nothing_is_left_behind() {
    let total: u64 = std::env::var("BOOTH_FUZZ_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seed: u64 = std::env::var("BOOTH_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0xB007);
    // A small in-flight limit and short timeouts, so that BUSY, TIMEOUT and CANCELLED happen.
    let limits = Limits { max_in_flight: 4, default_timeout: Duration::from_millis(25), ..Default::default() };
    let bridge = Bridge::new(limits);
    register_everything(&bridge);
    let bus = bridge.bus();
    let mut gen = Generator::new(seed, limits);
    let mut rng = Rng::new(seed ^ 0x5eed);

    let keys: Vec<String> = (0..6).map(|i| format!("page-{i}")).collect();
    let mut sinks: Vec<Weak<Sink>> = Vec::new();
    let mut ended: Vec<SessionId> = Vec::new();
    let open_page = |rng: &mut Rng, key: &str, sinks: &mut Vec<Weak<Sink>>| {
        let info = page_info(rng, key);
        let sink = Arc::new(Sink { gone: AtomicBool::new(false) });
        sinks.push(Arc::downgrade(&sink));
        let id = bridge.open_session(info.clone(), sink.clone());
        Page { id, info, sink }
    };
    let mut pages: Vec<Page> = keys.iter().map(|k| open_page(&mut rng, k, &mut sinks)).collect();

    let mut tally = Tally::default();
    let mut waiting: JoinSet<Pending> = JoinSet::new();
    let started = Instant::now();
    let fail = |n: u64, g: &Generated, why: &str| -> String {
        let shown: String = g.raw.chars().take(400).collect();
        format!(
            "seed {seed}, message {n}: {why}\n  {}.{} ({:?}, {} bytes): {shown}",
            g.dialect,
            clip(&g.name, 80),
            g.shape,
            g.raw.len()
        )
    };
    let settle = |(n, g, target, info, reply): Pending, tally: &mut Tally| {
        match check(&g, target, &info, &reply, &limits) {
            Ok(code) => *tally.codes.entry(code).or_default() += 1,
            Err(why) => panic!("{}", fail(n, &g, &why)),
        }
        tally.answered += 1;
    };

    for n in 0..total {
        tally.messages += 1;
        let roll = rng.below(100);
        let p = rng.below(pages.len());
        match roll {
            0..=88 => {
                let g = gen.next_request();
                *tally.shapes.entry(format!("{:?}", g.shape)).or_default() += 1;
                // Mostly the page's own session; sometimes one that has ended.
                let (id, target, info) = if !ended.is_empty() && rng.percent(3) {
                    (*rng.pick(&ended), Target::Ended, pages[p].info.clone())
                } else {
                    (pages[p].id, Target::Open, pages[p].info.clone())
                };
                tally.calls += 1;
                let b = bridge.clone();
                let mut call = Box::pin(async move {
                    let reply = b.call(id, g.dialect, &g.name, &g.raw).await;
                    (n, g, target, info, reply)
                });
                // Like the app: polled once where the request arrives, moved to the runtime only
                // when it has to wait.
                match (&mut call).now_or_never() {
                    Some(done) => settle(done, &mut tally),
                    None => {
                        waiting.spawn(call);
                    }
                }
            }
            89..=93 => {
                tally.subscriptions += 1;
                let dialect = *rng.pick(&Dialect::ALL);
                let names = api::names(dialect, Kind::Event);
                let name = if names.is_empty() || rng.percent(10) {
                    "n".repeat(1 + rng.below(300))
                } else {
                    rng.pick(&names).to_string()
                };
                let page = &pages[p];
                if rng.percent(70) {
                    match bridge.subscribe(page.id, dialect, &name) {
                        Ok(()) => {
                            let spec =
                                api::lookup(dialect, &name, Kind::Event).expect("subscribed to a contract event");
                            assert!(
                                page.info.dialects.contains(&dialect) && page.info.allows(spec.family),
                                "seed {seed}, message {n}: subscribed to {dialect}.{name} without its grant"
                            );
                        }
                        Err(e) => assert!(
                            matches!(
                                e.code,
                                ErrorCode::Unsupported | ErrorCode::PermissionDenied | ErrorCode::SessionEnded
                            ),
                            "seed {seed}, message {n}: subscribe answered {}",
                            e.code
                        ),
                    }
                } else {
                    bridge.unsubscribe(page.id, dialect, &name);
                }
            }
            94..=97 => {
                tally.events += 1;
                let topic = *rng.pick(&TOPICS);
                let payload = match rng.below(5) {
                    0 => Value::Null,
                    1 => json!("\u{202E}evil"),
                    2 => json!({"code": format!("c{}", rng.below(1000))}),
                    _ => json!(rng.below(10)),
                };
                if rng.percent(30) {
                    bus.publish_to(pages[p].id, topic, payload);
                } else {
                    bus.publish(topic, payload);
                }
            }
            _ => {
                // The page reloads, closes, or its webview vanishes (its next event ends it).
                tally.reloads += 1;
                let old = pages[p].id;
                match rng.below(3) {
                    0 => {
                        bridge.end_session(old);
                    }
                    1 => pages[p].sink.gone.store(true, Ordering::SeqCst),
                    _ => {}
                }
                ended.push(old);
                if ended.len() > 64 {
                    ended.remove(0);
                }
                let key = keys[p].clone();
                pages[p] = open_page(&mut rng, &key, &mut sinks);
            }
        }
        // Keep the calls waiting bounded, as a page's own limit would.
        while waiting.len() > 256 {
            let done = waiting.join_next().await.expect("a waiting call").expect("a call task panicked");
            settle(done, &mut tally);
        }
    }

    // Every page goes away; every waiting call must still answer.
    for page in &pages {
        bridge.end_session(page.id);
    }
    let drain = async {
        while let Some(done) = waiting.join_next().await {
            settle(done.expect("a call task panicked"), &mut tally);
        }
    };
    tokio::time::timeout(Duration::from_secs(120), drain).await.expect("calls still unanswered after 120 s");
    let elapsed = started.elapsed();
    assert_eq!(tally.answered, tally.calls, "every call answered exactly once");

    // Nothing left: sessions, subscriptions, calls, background tasks, page sinks.
    let delivered = DELIVERED.load(Ordering::SeqCst);
    drop(pages);
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = tokio::runtime::Handle::current().metrics();
    while (bridge.stats() != Stats::default()
        || metrics.num_alive_tasks() > 0
        || sinks.iter().any(|s| s.strong_count() > 0))
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(bridge.stats(), Stats::default(), "sessions, subscriptions or calls left");
    assert_eq!(metrics.num_alive_tasks(), 0, "tasks left running");
    let held = sinks.iter().filter(|s| s.strong_count() > 0).count();
    assert_eq!(held, 0, "{held} of {} page sinks still held", sinks.len());
    assert_eq!(BAD_EVENTS.load(Ordering::SeqCst), 0, "events of the wrong shape");
    let internal = tally.codes.get("INTERNAL").copied().unwrap_or(0);
    assert_eq!(internal as usize, HANDLER_PANICS.load(Ordering::SeqCst), "INTERNAL only for a panicking handler");

    println!(
        "fuzz: seed {seed}: {} messages in {:.1} s ({:.0}/s): {} calls all answered once, {} subscription changes, \
         {} device events ({} deliveries to pages), {} reloads/closes; panics contained: {} handler, {} renderer",
        tally.messages,
        elapsed.as_secs_f64(),
        tally.messages as f64 / elapsed.as_secs_f64(),
        tally.calls,
        tally.subscriptions,
        tally.events,
        delivered,
        tally.reloads,
        HANDLER_PANICS.load(Ordering::SeqCst),
        RENDER_PANICS.load(Ordering::SeqCst),
    );
    println!("fuzz: requests by shape {:?}", tally.shapes);
    println!("fuzz: replies by code {:?}", tally.codes);
}
