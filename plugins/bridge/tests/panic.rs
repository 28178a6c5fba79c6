//! A plugin that panics never takes Booth down: the call answers INTERNAL, the panic is logged
//! once with its backtrace (and not printed a second time by the process's panic hook), and the
//! plugin goes on serving. Its own test binary, because it installs a panic hook and a log
//! subscriber for the whole process.

use booth_bridge::{handler, Bridge, Dialect, Done, EventMessage, EventSink, Params, Screen, SessionInfo, Stats};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).to_string()
    }
}

#[derive(Default)]
struct Sink(Mutex<Vec<EventMessage>>);
impl EventSink for Sink {
    fn deliver(&self, message: EventMessage) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(message);
        true
    }
}

fn info(key: &str) -> SessionInfo {
    let (dialects, permissions) = booth_bridge::all_permissions();
    SessionInfo {
        key: key.into(),
        package_id: "panic-test".into(),
        permissions,
        dialects,
        screen: Screen::Front,
        url: "booth://localhost/index.html".into(),
    }
}

/// A handler only this test has: `speech` that panics when asked to, before or after its first
/// `.await`, and otherwise answers.
fn test_only_handler(bridge: &Bridge) {
    bridge.register(
        Dialect::My,
        "speech",
        None,
        handler(|_ctx, params: Params| async move {
            match params.str("boom").ok().flatten() {
                Some("now") => panic!("test-only handler: boom before any await"),
                Some("later") => {
                    tokio::task::yield_now().await;
                    panic!("test-only handler: boom after an await");
                }
                _ => Ok(Done::from(json!({"spoken": true}))),
            }
        }),
    );
    bridge.register_event(
        Dialect::My,
        "initQRListener",
        "test.code",
        Arc::new(|payload: &Value| {
            if payload["code"] == "boom" {
                panic!("test-only renderer: boom");
            }
            Some(payload.clone())
        }),
    );
}

fn ampe(task: &str, params: Value) -> String {
    json!({"action": "speech", "event": "open", "taskId": task, "params": params}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_internal_is_logged_once_with_a_backtrace_and_keeps_serving() {
    // The hook in place before Booth's: it must not hear about plugin panics (they are logged
    // by the bridge), but still hear about every other panic.
    let outside = Arc::new(AtomicUsize::new(0));
    let counted = outside.clone();
    std::panic::set_hook(Box::new(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
    }));
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).init();

    let bridge = Bridge::default();
    test_only_handler(&bridge);
    let sink = Arc::new(Sink::default());
    let id = bridge.open_session(info("main"), sink.clone());

    for (task, boom, line) in [("t1", "now", "boom before any await"), ("t2", "later", "boom after an await")] {
        let reply = bridge.call(id, Dialect::My, "ampeHHCommunication", &ampe(task, json!({"boom": boom}))).await;
        assert!(reply.ok, "ampeHHCommunication answers through success()");
        assert_eq!(reply.body["success"], false);
        assert_eq!(reply.body["errorCode"], "INTERNAL");
        assert_eq!(reply.body["taskId"], task);
        assert_eq!(reply.body["message"], format!("内部错误: speech 的处理程序崩溃 (test-only handler: {line})"));
        // The plugin keeps serving.
        let reply = bridge.call(id, Dialect::My, "ampeHHCommunication", &ampe("ok", json!({}))).await;
        assert_eq!(reply.body["success"], true, "{}", reply.body);
        assert_eq!(reply.body["data"], json!({"spoken": true}));
        let last = booth_bridge::guard::last().expect("the panic is remembered");
        assert_eq!((last.plugin.as_str(), last.api.as_str(), last.kind), ("speech", "my.speech", "handler"));
    }

    // A renderer that panics skips its delivery; the next event is delivered.
    bridge.subscribe(id, Dialect::My, "initQRListener").expect("subscribe");
    bridge.bus().publish("test.code", json!({"code": "boom"}));
    bridge.bus().publish("test.code", json!({"code": "fine"}));
    let delivered = sink.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].body, json!({"data": {"code": "fine"}}));
    let last = booth_bridge::guard::last().expect("the panic is remembered");
    assert_eq!((last.plugin.as_str(), last.api.as_str(), last.kind), ("scanner", "my.initQRListener", "renderer"));
    assert_eq!(booth_bridge::guard::contained(), 3);

    let text = log.text();
    for needle in [
        "handler panicked: test-only handler: boom before any await",
        "handler panicked: test-only handler: boom after an await",
        "event renderer panicked: test-only renderer: boom",
    ] {
        assert_eq!(text.matches(needle).count(), 1, "`{needle}` logged once:\n{text}");
    }
    assert!(text.contains("tests/panic.rs:"), "the log says where:\n{text}");
    assert!(text.contains("booth_bridge::guard"), "the log carries the backtrace:\n{text}");
    assert_eq!(outside.load(Ordering::SeqCst), 0, "plugin panics do not reach the process's own hook");

    // Every other panic still reaches it.
    let other = std::thread::spawn(|| panic!("not plugin code")).join();
    assert!(other.is_err());
    assert_eq!(outside.load(Ordering::SeqCst), 1);

    bridge.end_session(id);
    assert_eq!(bridge.stats(), Stats::default(), "nothing left behind");
}
