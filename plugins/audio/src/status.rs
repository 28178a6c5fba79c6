//! Availability of one part (output, speech, buzzer, microphone), as `/health` shows it.

use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub backend: &'static str,
    pub available: bool,
    pub detail: String,
}

impl Status {
    pub fn new(backend: &'static str, available: bool, detail: impl Into<String>) -> Status {
        Status { backend, available, detail: detail.into() }
    }
}

/// A shared, changing [`Status`].
pub struct Health(Mutex<Status>);

impl Health {
    pub fn new(status: Status) -> Arc<Health> {
        Arc::new(Health(Mutex::new(status)))
    }
    pub fn get(&self) -> Status {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn available(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).available
    }
    pub fn set(&self, available: bool, detail: impl Into<String>) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        s.available = available;
        s.detail = detail.into();
    }
}
