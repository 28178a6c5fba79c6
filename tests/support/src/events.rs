//! A page stand-in for plugin tests: an [`EventSink`] that keeps every event delivered to it.

use booth_bridge::{EventMessage, EventSink};
use serde_json::Value;
use std::sync::Mutex;

#[derive(Default)]
pub struct Collect(Mutex<Vec<EventMessage>>);

impl EventSink for Collect {
    fn deliver(&self, message: EventMessage) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(message);
        true
    }
}

impl Collect {
    /// Every event delivered so far, in order.
    pub fn all(&self) -> Vec<EventMessage> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The `data` of each event named `name` delivered so far, in order.
    pub fn data_of(&self, name: &str) -> Vec<Value> {
        self.all().into_iter().filter(|m| m.name == name).map(|m| m.body["data"].clone()).collect()
    }
}
