//! The clocks of the shell, without windows: when a page's operation watcher fires, when the
//! idle warning shows and the idle reset happens, and when a page stopped answering.
//! Time is passed in, so tests run instantly.

use booth_bridge::SessionId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What is due at a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// `ampeOperationTimeout` for this session (once per `ampeStartOperationWatcher`).
    OperationTimeout(SessionId),
    /// Show the idle warning in this window, counting down these seconds.
    IdleWarning { label: String, seconds: u64 },
    /// Nobody touched this window for the idle time: back to the entry, data cleared.
    IdleReset { label: String },
    /// The page did not answer heartbeats for the hang time.
    Hung { label: String, silent: Duration },
}

#[derive(Debug, Clone)]
struct Window {
    last_input: Instant,
    /// Input since the last reset: a window nobody used is not reset again and again.
    dirty: bool,
    warned: bool,
}

#[derive(Debug, Clone)]
struct Watcher {
    label: String,
    armed: Instant,
    timeout: Duration,
}

#[derive(Debug, Clone)]
struct Beat {
    /// The page finished loading: only then is silence a hang.
    loaded: bool,
    /// When the oldest beat not answered yet left Booth for the page. Silence counts from
    /// there, not from the last answer: a beat still waiting in Booth's own busy event loop
    /// was never put to the page.
    waiting: Option<Instant>,
    next: u64,
}

/// A ticker gap longer than this means Booth itself was not running (a stalled or overloaded
/// machine): that time is not the page's silence.
const STALL: Duration = Duration::from_secs(1);

/// The idle policy of the main window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdlePolicy {
    pub after: Duration,
    pub warning: Duration,
}

#[derive(Debug, Default)]
pub struct Timers {
    windows: HashMap<String, Window>,
    watchers: HashMap<SessionId, Watcher>,
    beats: HashMap<String, Beat>,
    last_tick: Option<Instant>,
}

impl Timers {
    fn window(&mut self, label: &str, now: Instant) -> &mut Window {
        self.windows.entry(label.to_string()).or_insert(Window { last_input: now, dirty: false, warned: false })
    }

    /// A touch, click or key in `label`'s page, `ago` before `now`.
    pub fn input(&mut self, label: &str, now: Instant, ago: Duration) {
        let at = now.checked_sub(ago).unwrap_or(now);
        let w = self.window(label, now);
        if at > w.last_input {
            w.last_input = at;
        }
        w.dirty = true;
        w.warned = false;
    }

    /// When `label` last had input.
    pub fn last_input(&self, label: &str) -> Option<Instant> {
        self.windows.get(label).map(|w| w.last_input)
    }

    /// The window was reset or started afresh: nothing to reset until someone uses it.
    pub fn fresh(&mut self, label: &str, now: Instant) {
        let w = self.window(label, now);
        w.last_input = now;
        w.dirty = false;
        w.warned = false;
    }

    /// `ampeStartOperationWatcher`: starts, or restarts, the session's countdown.
    pub fn arm(&mut self, session: SessionId, label: &str, timeout: Duration, now: Instant) {
        self.watchers.insert(session, Watcher { label: label.to_string(), armed: now, timeout });
    }

    pub fn disarm(&mut self, session: SessionId) {
        self.watchers.remove(&session);
    }

    pub fn armed(&self, session: SessionId) -> bool {
        self.watchers.contains_key(&session)
    }

    /// The page of `label` started loading (no heartbeats expected) or finished.
    pub fn loading(&mut self, label: &str, loaded: bool) {
        let b = self.beats.entry(label.to_string()).or_insert(Beat { loaded, waiting: None, next: 0 });
        b.loaded = loaded;
        b.waiting = None;
    }

    /// The next heartbeat number to send to `label`, if its page is loaded.
    pub fn beat(&mut self, label: &str) -> Option<u64> {
        let b = self.beats.get_mut(label).filter(|b| b.loaded)?;
        b.next += 1;
        Some(b.next)
    }

    /// Beat number `n` of `label` has left Booth's event loop for the page at `now`.
    pub fn sent(&mut self, label: &str, n: u64, now: Instant) {
        if let Some(b) = self.beats.get_mut(label).filter(|b| b.loaded && b.next >= n) {
            b.waiting.get_or_insert(now);
        }
    }

    /// The page answered a beat: it was alive after the oldest one waiting was sent.
    pub fn answered(&mut self, label: &str) {
        if let Some(b) = self.beats.get_mut(label) {
            b.waiting = None;
        }
    }

    /// Forget a window's heartbeat (it closed, or it is being recovered).
    pub fn forget_beat(&mut self, label: &str) {
        self.beats.remove(label);
    }

    /// What is due at `now`. Watchers fire once; the idle warning shows once per idle spell.
    pub fn tick(&mut self, now: Instant, idle: Option<(&str, IdlePolicy)>, hang: Option<Duration>) -> Vec<Due> {
        let mut due = Vec::new();
        let mut fired = Vec::new();
        for (session, w) in &self.watchers {
            let since = self.windows.get(&w.label).map(|x| x.last_input.max(w.armed)).unwrap_or(w.armed);
            if now.saturating_duration_since(since) >= w.timeout {
                fired.push(*session);
            }
        }
        fired.sort();
        for s in fired {
            self.watchers.remove(&s);
            due.push(Due::OperationTimeout(s));
        }
        if let Some((label, policy)) = idle {
            let w = self.window(label, now);
            let quiet = now.saturating_duration_since(w.last_input);
            if w.dirty && quiet >= policy.after {
                w.dirty = false;
                w.warned = false;
                w.last_input = now;
                due.push(Due::IdleReset { label: label.to_string() });
            } else if w.dirty && !w.warned && !policy.warning.is_zero() && quiet + policy.warning >= policy.after {
                w.warned = true;
                let left = policy.after.saturating_sub(quiet);
                due.push(Due::IdleWarning { label: label.to_string(), seconds: left.as_secs_f64().round() as u64 });
            }
        }
        let gap = self.last_tick.map(|t| now.saturating_duration_since(t)).unwrap_or_default();
        self.last_tick = Some(now);
        if gap > STALL {
            for b in self.beats.values_mut() {
                b.waiting = b.waiting.map(|w| (w + gap).min(now));
            }
        }
        if let Some(hang) = hang {
            let silent = |b: &Beat| b.waiting.filter(|_| b.loaded).map(|w| now.saturating_duration_since(w));
            let mut hung: Vec<_> = self
                .beats
                .iter()
                .filter_map(|(l, b)| silent(b).filter(|s| *s >= hang).map(|s| (l.clone(), s)))
                .collect();
            hung.sort();
            for (label, silent) in hung {
                // Once reported, wait for the page to load again before judging it.
                if let Some(b) = self.beats.get_mut(&label) {
                    b.loaded = false;
                }
                due.push(Due::Hung { label, silent });
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: SessionId = 1;
    const S2: SessionId = 2;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn operation_watcher_fires_once_after_quiet_and_input_postpones_it() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.arm(S1, "main", secs(5), t0);
        assert!(t.tick(t0 + secs(4), None, None).is_empty());
        t.input("main", t0 + secs(4), Duration::ZERO);
        assert!(t.tick(t0 + secs(8), None, None).is_empty(), "input at 4 s moves the deadline to 9 s");
        assert_eq!(t.tick(t0 + secs(9), None, None), vec![Due::OperationTimeout(S1)]);
        assert!(t.tick(t0 + secs(20), None, None).is_empty(), "once");
        // Restarting re-arms; input in another window does not count.
        t.arm(S1, "main", secs(5), t0 + secs(20));
        t.arm(S2, "secondary", secs(5), t0 + secs(20));
        t.input("secondary", t0 + secs(24), Duration::ZERO);
        assert_eq!(t.tick(t0 + secs(25), None, None), vec![Due::OperationTimeout(S1)]);
        assert_eq!(t.tick(t0 + secs(29), None, None), vec![Due::OperationTimeout(S2)]);
        // An input reported late (its age) counts from when it happened.
        t.arm(S1, "main", secs(5), t0 + secs(30));
        t.input("main", t0 + secs(33), secs(1));
        assert!(t.tick(t0 + secs(36), None, None).is_empty());
        assert_eq!(t.tick(t0 + secs(37), None, None), vec![Due::OperationTimeout(S1)]);
        // Disarmed (the page went away): nothing.
        t.arm(S1, "main", secs(1), t0 + secs(40));
        t.disarm(S1);
        assert!(t.tick(t0 + secs(50), None, None).is_empty());
    }

    #[test]
    fn idle_warns_then_resets_only_after_use() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        let policy = IdlePolicy { after: secs(60), warning: secs(10) };
        t.fresh("main", t0);
        assert!(t.tick(t0 + secs(100), Some(("main", policy)), None).is_empty(), "nobody used it");
        t.input("main", t0 + secs(100), Duration::ZERO);
        assert!(t.tick(t0 + secs(149), Some(("main", policy)), None).is_empty());
        assert_eq!(
            t.tick(t0 + secs(150), Some(("main", policy)), None),
            vec![Due::IdleWarning { label: "main".into(), seconds: 10 }]
        );
        assert!(t.tick(t0 + secs(151), Some(("main", policy)), None).is_empty(), "warned once");
        // A touch cancels the warning; the spell starts over.
        t.input("main", t0 + secs(155), Duration::ZERO);
        assert!(t.tick(t0 + secs(160), Some(("main", policy)), None).is_empty());
        assert_eq!(t.tick(t0 + secs(205), Some(("main", policy)), None).len(), 1);
        assert_eq!(t.tick(t0 + secs(215), Some(("main", policy)), None), vec![Due::IdleReset { label: "main".into() }]);
        assert!(t.tick(t0 + secs(400), Some(("main", policy)), None).is_empty(), "reset once");
        // No warning configured: straight to the reset.
        let policy = IdlePolicy { after: secs(60), warning: Duration::ZERO };
        t.input("main", t0 + secs(400), Duration::ZERO);
        assert!(t.tick(t0 + secs(459), Some(("main", policy)), None).is_empty());
        assert_eq!(t.tick(t0 + secs(460), Some(("main", policy)), None), vec![Due::IdleReset { label: "main".into() }]);
    }

    #[test]
    fn silence_after_load_is_a_hang_reported_once_per_load() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        let hang = Some(secs(3));
        assert_eq!(t.beat("main"), None, "not loaded");
        t.loading("main", false);
        assert_eq!(t.beat("main"), None, "still loading");
        assert!(t.tick(t0 + secs(10), None, hang).is_empty(), "loading is not hanging");
        t.loading("main", true);
        assert_eq!(t.beat("main"), Some(1));
        t.sent("main", 1, t0 + secs(10));
        t.answered("main");
        assert!(t.tick(t0 + secs(12), None, hang).is_empty());
        assert_eq!(t.beat("main"), Some(2));
        t.sent("main", 2, t0 + secs(12));
        assert!(t.tick(t0 + secs(13), None, hang).is_empty());
        assert_eq!(t.beat("main"), Some(3));
        t.sent("main", 3, t0 + secs(13));
        assert!(t.tick(t0 + secs(14), None, hang).is_empty(), "silent since the first unanswered beat, 2 s");
        assert_eq!(t.tick(t0 + secs(15), None, hang), vec![Due::Hung { label: "main".into(), silent: secs(3) }]);
        assert!(t.tick(t0 + secs(30), None, hang).is_empty(), "reported once until the next load");
        t.loading("main", true);
        assert!(t.tick(t0 + secs(32), None, hang).is_empty());
        t.forget_beat("main");
        assert!(t.tick(t0 + secs(60), None, hang).is_empty());
    }

    #[test]
    fn beats_stuck_in_booth_or_a_stalled_booth_are_not_the_pages_silence() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut t = Timers::default();
        let hang = Some(secs(3));
        t.loading("main", true);
        // Booth's event loop was busy: beats were numbered but none reached the page.
        for i in 1..=10 {
            assert_eq!(t.beat("main"), Some(i));
            assert!(t.tick(t0 + secs(i), None, hang).is_empty(), "nothing was put to the page yet");
        }
        t.sent("main", 10, t0 + secs(10));
        assert!(t.tick(t0 + secs(11), None, hang).is_empty());
        assert!(t.tick(t0 + secs(12), None, hang).is_empty());
        assert!(t.tick(t0 + ms(12_900), None, hang).is_empty());
        assert_eq!(t.tick(t0 + secs(13), None, hang).len(), 1, "3 s after the beat left Booth");
        // The whole process stalled for 5 s between two ticks: the stall is not counted.
        t.loading("main", true);
        assert!(t.tick(t0 + secs(20), None, hang).is_empty());
        let n = t.beat("main").unwrap();
        t.sent("main", n, t0 + ms(20_100));
        assert!(t.tick(t0 + ms(20_200), None, hang).is_empty());
        assert!(t.tick(t0 + ms(25_200), None, hang).is_empty(), "a 5 s gap between ticks");
        assert!(t.tick(t0 + ms(26_200), None, hang).is_empty());
        assert!(t.tick(t0 + ms(27_200), None, hang).is_empty());
        assert_eq!(t.tick(t0 + ms(28_200), None, hang).len(), 1, "3 s of Booth running and the page silent");
        // A beat numbered before a reload is not taken for one of the new page's.
        t.loading("main", true);
        t.sent("main", 99, t0 + secs(30));
        assert!(t.tick(t0 + secs(40), None, hang).is_empty());
    }
}
