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
use booth_bridge::fuzz::{storm, Options};
use booth_bridge::params::clip;
use booth_bridge::{handler, wait_for_event, ApiError, Bridge, Done, Limits, Params, Stats};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Handler panics and renderer panics the test provoked on purpose.
static HANDLER_PANICS: AtomicUsize = AtomicUsize::new(0);
static RENDER_PANICS: AtomicUsize = AtomicUsize::new(0);

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
                // Like a scanner's code: short (the reply-size check is about what pages send).
                (ev.topic == "fuzz.code").then(|| Ok(Value::from(clip(&ev.payload.to_string(), 64))))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_answered_once_well_formed_and_nothing_is_left_behind() {
    let messages = std::env::var("BOOTH_FUZZ_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seed = std::env::var("BOOTH_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0xB007);
    // A small in-flight limit and short timeouts, so that BUSY, TIMEOUT and CANCELLED happen.
    let limits = Limits { max_in_flight: 4, default_timeout: Duration::from_millis(25), ..Default::default() };
    let bridge = Bridge::new(limits);
    register_everything(&bridge);
    let options = Options { seed, messages, pages: 6, topics: TOPICS.to_vec(), max_waiting: 256 };
    let report = storm(&bridge, options).await.unwrap_or_else(|e| panic!("{e}"));
    println!("fuzz: {report}");
    println!(
        "fuzz: panics contained: {} handler, {} renderer",
        HANDLER_PANICS.load(Ordering::SeqCst),
        RENDER_PANICS.load(Ordering::SeqCst)
    );
    assert_eq!(report.answered, report.calls, "every call answered exactly once");
    assert_eq!(report.bad_events, 0, "events of the wrong shape, the first: {:?}", report.first_bad_event);
    assert_eq!(
        report.code("INTERNAL") as usize,
        HANDLER_PANICS.load(Ordering::SeqCst),
        "INTERNAL only for a panicking handler"
    );
    assert!(
        RENDER_PANICS.load(Ordering::SeqCst) > 0 && HANDLER_PANICS.load(Ordering::SeqCst) > 0,
        "the run provoked panics"
    );
    assert_eq!(
        booth_bridge::guard::contained() as usize,
        HANDLER_PANICS.load(Ordering::SeqCst) + RENDER_PANICS.load(Ordering::SeqCst),
        "every provoked panic caught and counted once"
    );

    // Nothing left: sessions, subscriptions, calls, background tasks, page sinks.
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (bridge.stats() != Stats::default() || metrics.num_alive_tasks() > 0 || report.sinks_held() > 0)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(bridge.stats(), Stats::default(), "sessions, subscriptions or calls left");
    assert_eq!(metrics.num_alive_tasks(), 0, "tasks left running");
    assert_eq!(report.sinks_held(), 0, "page sinks still held");
}
