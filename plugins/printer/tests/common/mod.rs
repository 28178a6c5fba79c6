//! A bridge with the printer registered and one page's session, for the plugin's tests.
#![allow(dead_code)]

use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Screen, SessionId, SessionInfo};
use booth_printer::{Printer, PrinterConfig};
use serde_json::{json, Value};
use std::sync::Arc;

struct Nowhere;
impl EventSink for Nowhere {
    fn deliver(&self, _: EventMessage) -> bool {
        true
    }
}

pub struct Rig {
    pub bridge: Bridge,
    pub printer: Arc<Printer>,
    pub session: SessionId,
}

impl Rig {
    pub fn new(config: PrinterConfig) -> Rig {
        let bridge = Bridge::default();
        let printer = Printer::start(config);
        printer.register(&bridge);
        let info = SessionInfo {
            key: "main".into(),
            package_id: "test.printer".into(),
            permissions: [Family::Printer].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://localhost/".into(),
        };
        let session = bridge.open_session(info, Arc::new(Nowhere));
        Rig { bridge, printer, session }
    }

    /// `my.call('ampeHHCommunication', {action: 'receiptPrinting', …})`: the reply's body.
    pub async fn print(&self, list: Value) -> Value {
        let req = json!({"action": "receiptPrinting", "event": "open", "taskId": "10", "params": {"printList": list}});
        let r = self.bridge.call(self.session, Dialect::My, "ampeHHCommunication", &req.to_string()).await;
        r.body
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.printer.shutdown();
    }
}

/// `{text, textSize, bold, algin}` items.
pub fn text(t: &str) -> Value {
    json!({"text": t, "textSize": 26, "bold": false, "algin": "left"})
}

pub fn error_code(reply: &Value) -> &str {
    reply["errorCode"].as_str().unwrap_or("")
}
