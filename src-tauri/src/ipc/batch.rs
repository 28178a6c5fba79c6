//! A page's events on their way to its Channel: one message per event while they come slowly,
//! several events in one message while they come fast.
//!
//! Every message a Tauri Channel sends is a script the web view evaluates (or, past 8 KiB, a
//! fetch): at scanner-burst, microphone or camera-preview rates that per-message cost, not the
//! page's listeners, is what limits delivery. An event that finds the page's queue idle goes at
//! once (no added latency for the usual 10 events a second, nor for the microphone's chunk every
//! 10 ms); the events that come within [`WINDOW`] after it wait for the window to end and go
//! together, in order, as one JSON array of at most [`MAX_MESSAGE`] bytes (a bigger event goes
//! alone). The runtime (`runtime.js`) takes the array apart.
//!
//! The same messages carry the answers of a page's calls that were sent together and had to
//! wait (`page::booth_call`): [`ReplyRoutes`] finds a session's batcher for them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long events gather after a message went while more keep coming.
pub const WINDOW: Duration = Duration::from_millis(1);
/// The largest batch, in bytes of JSON (a single bigger event still goes, alone).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Sends one message (a JSON array of events); `false` when the page is gone.
pub type SendFn = Box<dyn Fn(String) -> bool + Send + Sync>;

pub struct Batcher {
    send: SendFn,
    runtime: tokio::runtime::Handle,
    queue: Mutex<Queue>,
    gone: AtomicBool,
}

#[derive(Default)]
struct Queue {
    /// Each event's JSON.
    items: Vec<String>,
    /// A sender task runs (it sends, waits a window, and goes on while events are queued). At
    /// most one does, so batches leave in the order their events came.
    active: bool,
}

impl Batcher {
    pub fn new(runtime: tokio::runtime::Handle, send: SendFn) -> Arc<Batcher> {
        Arc::new(Batcher { send, runtime, queue: Mutex::default(), gone: AtomicBool::new(false) })
    }

    /// Queues one event's JSON; `false` once a send has found the page gone.
    pub fn push(self: &Arc<Self>, json: String) -> bool {
        if self.gone.load(Ordering::Relaxed) {
            return false;
        }
        let start = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.items.push(json);
            !std::mem::replace(&mut q.active, true)
        };
        if start {
            let me = self.clone();
            self.runtime.spawn(async move {
                while me.flush() {
                    tokio::time::sleep(WINDOW).await;
                }
            });
        }
        true
    }

    /// Sends what is queued; `false` (and the sender task ends) when nothing was.
    fn flush(&self) -> bool {
        let items = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.items.is_empty() {
                q.active = false;
                return false;
            }
            std::mem::take(&mut q.items)
        };
        if self.gone.load(Ordering::Relaxed) {
            return true;
        }
        for message in pack(items) {
            if !(self.send)(message) {
                self.gone.store(true, Ordering::Relaxed);
                break;
            }
        }
        true
    }
}

/// Where the answers of a page's batched calls that wait go: the event [`Batcher`] of its
/// session, held weakly (the bridge owns the session's sink; a session that ended leaves a
/// dead entry, cleared at the next attach).
#[derive(Default)]
pub struct ReplyRoutes(Mutex<std::collections::HashMap<booth_bridge::SessionId, std::sync::Weak<Batcher>>>);

impl ReplyRoutes {
    pub fn add(&self, session: booth_bridge::SessionId, batcher: &Arc<Batcher>) {
        let mut routes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        routes.retain(|_, b| b.strong_count() > 0);
        routes.insert(session, Arc::downgrade(batcher));
    }

    pub fn route(&self, session: booth_bridge::SessionId) -> Option<std::sync::Weak<Batcher>> {
        let routes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        routes.get(&session).filter(|b| b.strong_count() > 0).cloned()
    }
}

/// Joins events' JSON into arrays of at most [`MAX_MESSAGE`] bytes, in order.
fn pack(items: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for item in items {
        if !current.is_empty() && current.len() + item.len() + 2 > MAX_MESSAGE {
            current.push(']');
            out.push(std::mem::take(&mut current));
        }
        current.push(if current.is_empty() { '[' } else { ',' });
        current.push_str(&item);
    }
    if !current.is_empty() {
        current.push(']');
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::time::Instant;

    fn collector() -> (Arc<Mutex<Vec<Vec<Value>>>>, SendFn) {
        let got: Arc<Mutex<Vec<Vec<Value>>>> = Arc::default();
        let g = got.clone();
        let send: SendFn = Box::new(move |m: String| {
            let batch: Vec<Value> = serde_json::from_str(&m).expect("a JSON array");
            g.lock().unwrap().push(batch);
            true
        });
        (got, send)
    }

    async fn settle() {
        tokio::time::sleep(WINDOW * 20).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_event_goes_at_once_and_a_burst_goes_in_few_messages_in_order() {
        let (got, send) = collector();
        let b = Batcher::new(tokio::runtime::Handle::current(), send);
        let sent = Instant::now();
        assert!(b.push("1".into()));
        while got.lock().unwrap().is_empty() {
            assert!(sent.elapsed() < Duration::from_secs(1), "the lone event never went");
            tokio::task::yield_now().await;
        }
        assert!(sent.elapsed() < WINDOW * 50, "{:?}", sent.elapsed());
        assert_eq!(*got.lock().unwrap(), vec![vec![Value::from(1)]]);
        settle().await;

        got.lock().unwrap().clear();
        for i in 0..10_000 {
            assert!(b.push(i.to_string()));
        }
        settle().await;
        let batches = got.lock().unwrap().clone();
        let all: Vec<Value> = batches.iter().flatten().cloned().collect();
        assert_eq!(all, (0..10_000).map(Value::from).collect::<Vec<_>>(), "every event once, in order");
        assert!(batches.len() < 100, "{} messages for 10,000 events", batches.len());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_from_several_threads_keep_each_threads_order() {
        let (got, send) = collector();
        let b = Batcher::new(tokio::runtime::Handle::current(), send);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let b = b.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        b.push(format!("[{t},{i}]"));
                        if i % 97 == 0 {
                            std::thread::sleep(Duration::from_micros(300));
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        settle().await;
        let all: Vec<Value> = got.lock().unwrap().iter().flatten().cloned().collect();
        assert_eq!(all.len(), 20_000);
        for t in 0..4 {
            let seen: Vec<u64> = all.iter().filter(|v| v[0] == t).map(|v| v[1].as_u64().unwrap()).collect();
            assert_eq!(seen, (0..5_000).collect::<Vec<_>>(), "thread {t}'s events in its order");
        }
    }

    #[test]
    fn batches_stay_under_the_size_limit_and_a_big_event_goes_alone() {
        let small = format!("\"{}\"", "a".repeat(1_000));
        let big = format!("\"{}\"", "b".repeat(MAX_MESSAGE * 2));
        let mut items = vec![small.clone(); 200];
        items.insert(100, big.clone());
        let out = pack(items);
        let mut all = Vec::new();
        for m in &out {
            let batch: Vec<String> = serde_json::from_str(m).expect("a JSON array");
            assert!(m.len() <= MAX_MESSAGE || batch.len() == 1, "{} bytes with {} events", m.len(), batch.len());
            all.extend(batch);
        }
        assert_eq!(all.len(), 201);
        assert_eq!(all[100].len(), MAX_MESSAGE * 2);
        assert!(out.len() >= 4, "{}", out.len());
        assert!(pack(Vec::new()).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_route_lasts_as_long_as_its_session_and_dead_ones_are_cleared() {
        let routes = ReplyRoutes::default();
        let (_, send) = collector();
        let first = Batcher::new(tokio::runtime::Handle::current(), send);
        routes.add(1, &first);
        let found = routes.route(1).and_then(|w| w.upgrade()).expect("a live session's route");
        assert!(Arc::ptr_eq(&found, &first));
        assert!(routes.route(2).is_none(), "another session has none");
        drop(found);
        drop(first);
        assert!(routes.route(1).is_none(), "the session's sink is gone, and its route with it");
        let (_, send) = collector();
        let second = Batcher::new(tokio::runtime::Handle::current(), send);
        routes.add(2, &second);
        assert_eq!(routes.0.lock().unwrap().len(), 1, "the dead route was cleared at the next attach");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gone_page_is_reported_at_the_next_event_and_sent_nothing_more() {
        let sends = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let s = sends.clone();
        let b = Batcher::new(
            tokio::runtime::Handle::current(),
            Box::new(move |_| {
                s.fetch_add(1, Ordering::Relaxed);
                false
            }),
        );
        assert!(b.push("1".into()));
        settle().await;
        assert!(!b.push("2".into()), "the page is gone");
        settle().await;
        assert_eq!(sends.load(Ordering::Relaxed), 1);
    }
}
