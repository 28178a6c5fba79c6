//! The topic contract (README → Fleets): every topic a terminal or an operator uses is built
//! here, so the two sides cannot disagree.
//!
//! ```text
//! {prefix}/t/{tid}/status           retained; last will {"state":"offline"}
//! {prefix}/t/{tid}/telemetry        retained, every telemetry_s
//! {prefix}/t/{tid}/event            device away/back, recoveries, crashes, admin logins, updates
//! {prefix}/t/{tid}/shadow/desired   retained, written by the operator
//! {prefix}/t/{tid}/shadow/reported  retained, written by the terminal
//! {prefix}/t/{tid}/cmd/req          commands (never retained), MQTT 5 correlation data + expiry
//! {prefix}/t/{tid}/cmd/res          results, with the request's correlation data
//! {prefix}/broadcast/cmd            commands to every terminal (results on each one's cmd/res)
//! ```

pub const DEFAULT_PREFIX: &str = "booth/v1";

/// Terminal ids and command ids: 1-64 of `A-Z a-z 0-9 . _ -` (never a topic wildcard or level).
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A topic prefix: levels of the same characters as ids, separated by `/`.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix.len() > 128 {
        return Err("must be 1-128 characters".into());
    }
    if prefix.split('/').all(valid_id) {
        Ok(())
    } else {
        Err(format!("`{prefix}`: levels of letters, digits, `.`, `_`, `-`, separated by `/`"))
    }
}

/// One terminal's topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
    tid: String,
}

impl Topics {
    pub fn new(prefix: &str, tid: &str) -> Topics {
        Topics { prefix: prefix.to_string(), tid: tid.to_string() }
    }

    pub fn terminal(&self) -> &str {
        &self.tid
    }

    fn t(&self, rest: &str) -> String {
        format!("{}/t/{}/{rest}", self.prefix, self.tid)
    }

    pub fn status(&self) -> String {
        self.t("status")
    }
    pub fn telemetry(&self) -> String {
        self.t("telemetry")
    }
    pub fn event(&self) -> String {
        self.t("event")
    }
    pub fn desired(&self) -> String {
        self.t("shadow/desired")
    }
    pub fn reported(&self) -> String {
        self.t("shadow/reported")
    }
    pub fn cmd_req(&self) -> String {
        self.t("cmd/req")
    }
    pub fn cmd_res(&self) -> String {
        self.t("cmd/res")
    }
    pub fn broadcast_cmd(&self) -> String {
        broadcast_cmd(&self.prefix)
    }

    /// What a terminal subscribes to: its own desired shadow and commands, and broadcast.
    pub fn subscriptions(&self) -> [String; 3] {
        [self.desired(), self.cmd_req(), format!("{}/broadcast/#", self.prefix)]
    }
}

pub fn broadcast_cmd(prefix: &str) -> String {
    format!("{prefix}/broadcast/cmd")
}

/// For operators: every terminal's topic of one kind (`status`, `telemetry`, `cmd/res` …).
pub fn all_terminals(prefix: &str, kind: &str) -> String {
    format!("{prefix}/t/+/{kind}")
}

/// The terminal id and kind of a terminal topic under `prefix` (`booth/v1/t/T1/cmd/res` →
/// (`T1`, `cmd/res`)).
pub fn split<'a>(prefix: &str, topic: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = topic.strip_prefix(prefix)?.strip_prefix("/t/")?;
    let (tid, kind) = rest.split_once('/')?;
    valid_id(tid).then_some((tid, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract() {
        let t = Topics::new("booth/v1", "T-0001");
        assert_eq!(t.status(), "booth/v1/t/T-0001/status");
        assert_eq!(t.cmd_req(), "booth/v1/t/T-0001/cmd/req");
        assert_eq!(t.subscriptions()[2], "booth/v1/broadcast/#");
        assert_eq!(split("booth/v1", "booth/v1/t/T-0001/shadow/reported"), Some(("T-0001", "shadow/reported")));
        assert_eq!(split("booth/v1", "booth/v1/broadcast/cmd"), None);
        assert!(valid_id("T-0001") && !valid_id("a+b") && !valid_id("") && !valid_id(&"x".repeat(65)));
        assert!(check_prefix("acme/booth/v1").is_ok() && check_prefix("a//b").is_err() && check_prefix("#").is_err());
    }
}
