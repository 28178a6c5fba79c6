//! Plugin code that panics (a handler, an event renderer) never takes Booth down and is logged
//! once: the panic is caught where the bridge runs that code, and the process's panic hook,
//! which would print it to stderr a second time without the context, stays quiet for it.
//!
//! The bridge installs its hook the first time a [`crate::Bridge`] is made. It chains to the
//! hook that was there before for every panic outside plugin code, so the rest of Booth (and the
//! test harness) sees panics as usual.

use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::task::{Context, Poll};
use std::time::SystemTime;

thread_local! {
    /// Set while this thread runs plugin code on the bridge's behalf.
    static GUARDED: Cell<u32> = const { Cell::new(0) };
    /// What the hook saw of the last panic of guarded code on this thread.
    static CAUGHT: RefCell<Option<Caught>> = const { RefCell::new(None) };
}

/// A panic of plugin code: its message, where it happened and the stack at that moment.
#[derive(Debug)]
pub struct Caught {
    pub message: String,
    pub location: String,
    pub backtrace: String,
}

static HOOK: Once = Once::new();

/// Panics of plugin code caught since the process started.
static CONTAINED: AtomicU64 = AtomicU64::new(0);

/// The last panic of plugin code the bridge contained.
static LAST: Mutex<Option<LastPanic>> = Mutex::new(None);

/// How many panics of plugin code (handlers, event renderers) were caught since the process
/// started: zero on a healthy terminal.
pub fn contained() -> u64 {
    CONTAINED.load(Ordering::Relaxed)
}

/// Which plugin code panicked last and when (`/health`). Not its message: a message may quote
/// what a page sent, and the log already has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastPanic {
    /// The capability the API belongs to (its permission family), e.g. `speech`.
    pub plugin: String,
    /// The API as the contract names it, `dialect.name`, e.g. `my.speech`.
    pub api: String,
    /// `handler` (a call) or `renderer` (an event).
    pub kind: &'static str,
    pub at: SystemTime,
}

/// The last panic of plugin code the bridge contained since the process started, if any.
pub fn last() -> Option<LastPanic> {
    LAST.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Remembers which API's code panicked (the bridge calls this once per contained panic).
pub(crate) fn note(plugin: String, api: String, kind: &'static str) {
    *LAST.lock().unwrap_or_else(|p| p.into_inner()) = Some(LastPanic { plugin, api, kind, at: SystemTime::now() });
}

/// Installs the hook (once per process).
pub(crate) fn install() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                return previous(info);
            }
            let message = payload_text(info.payload());
            let location =
                info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
            let backtrace = Backtrace::force_capture().to_string();
            CAUGHT.with(|c| *c.borrow_mut() = Some(Caught { message, location, backtrace }));
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// Marks this thread as running guarded code for as long as it lives.
struct Mark;

impl Mark {
    fn new() -> Mark {
        GUARDED.with(|g| g.set(g.get() + 1));
        Mark
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        GUARDED.with(|g| g.set(g.get().saturating_sub(1)));
    }
}

fn take_caught(payload: Box<dyn std::any::Any + Send>) -> Caught {
    CONTAINED.fetch_add(1, Ordering::Relaxed);
    CAUGHT.with(|c| c.borrow_mut().take()).unwrap_or_else(|| Caught {
        message: payload_text(payload.as_ref()),
        location: String::new(),
        backtrace: String::new(),
    })
}

/// Runs plugin code, catching a panic.
pub fn call<T>(f: impl FnOnce() -> T) -> Result<T, Caught> {
    let _mark = Mark::new();
    catch_unwind(AssertUnwindSafe(f)).map_err(take_caught)
}

/// A future of plugin code whose panic, in any of its polls, ends it with `Err`.
pub struct Guarded<F> {
    inner: Option<Pin<Box<F>>>,
}

impl<F: Future> Guarded<F> {
    pub fn new(inner: F) -> Self {
        Guarded { inner: Some(Box::pin(inner)) }
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output, Caught>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = self.inner.as_mut() else { return Poll::Pending };
        let polled = {
            let _mark = Mark::new();
            catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)))
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                self.inner = None;
                Poll::Ready(Ok(v))
            }
            Err(payload) => {
                // A future that panicked is never polled again.
                self.inner = None;
                Poll::Ready(Err(take_caught(payload)))
            }
        }
    }
}
