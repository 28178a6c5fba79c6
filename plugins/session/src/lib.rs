//! The page's session APIs, registered with the bridge like any capability:
//! `deviceConfig`, `ampeStartOperationWatcher` / `ampeOperationTimeout` and `wxfaceapp.exitMp`.
//! What they do to windows is the running app's ([`ShellHost`], set once the windows exist);
//! without one (a headless bridge) deviceConfig and exitMp answer `DEVICE_UNAVAILABLE`.

pub mod timers;

#[cfg(test)]
use booth_bridge::ErrorCode;
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, Params};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use timers::Timers;

/// The device event behind `my.on('ampeOperationTimeout')`.
pub const OPERATION_TIMEOUT_TOPIC: &str = "shell.operation_timeout";

/// What the page APIs ask of the windows.
pub trait ShellHost: Send + Sync + 'static {
    /// Applies a checked deviceConfig request from the page of window `label`.
    fn device_config(&self, label: &str, change: DeviceConfig) -> Result<(), ApiError>;
    /// Closes the mini-program (after the reply went out) and shows the launcher.
    fn exit_applet(&self, label: &str, why: &str);
}

pub struct ShellApis {
    timers: Mutex<Timers>,
    operation_timeout: Mutex<Option<Duration>>,
    host: OnceLock<Box<dyn ShellHost>>,
}

impl ShellApis {
    /// `operation_timeout`: `[kiosk] operation_timeout_s` (`None`: 0, off).
    pub fn new(operation_timeout: Option<Duration>) -> Arc<ShellApis> {
        Arc::new(ShellApis {
            timers: Mutex::new(Timers::default()),
            operation_timeout: Mutex::new(operation_timeout),
            host: OnceLock::new(),
        })
    }

    /// The clocks shared with the shell's ticker.
    pub fn timers(&self) -> std::sync::MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_operation_timeout(&self, timeout: Option<Duration>) {
        *self.operation_timeout.lock().unwrap_or_else(|p| p.into_inner()) = timeout;
    }

    pub fn operation_timeout(&self) -> Option<Duration> {
        *self.operation_timeout.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_host(&self, host: impl ShellHost) {
        if self.host.set(Box::new(host)).is_err() {
            tracing::error!("the shell's window host is already set");
        }
    }

    fn host(&self) -> Result<&dyn ShellHost, ApiError> {
        self.host.get().map(|h| h.as_ref()).ok_or_else(|| ApiError::unavailable("没有窗口 (no window)"))
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "deviceConfig",
            None,
            handler(move |ctx, params| {
                let me = me.clone();
                async move {
                    let change = DeviceConfig::parse(&params)?;
                    me.host()?.device_config(&ctx.session.info().key, change)?;
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "ampeStartOperationWatcher",
            None,
            handler(move |ctx, _| {
                let me = me.clone();
                async move {
                    let timeout = me.operation_timeout();
                    let label = ctx.session.info().key.clone();
                    let session = ctx.session.id();
                    match timeout {
                        Some(t) => me.timers().arm(session, &label, t, Instant::now()),
                        None => me.timers().disarm(session),
                    }
                    tracing::debug!(window = %label, ?timeout, "operation watcher started");
                    let secs = timeout.map(|t| t.as_secs()).unwrap_or(0);
                    Ok(Done::from(json!({"success": true, "message": "成功", "timeout": secs})))
                }
            }),
        );
        bridge.register_event(
            Dialect::My,
            "ampeOperationTimeout",
            OPERATION_TIMEOUT_TOPIC,
            Arc::new(|p| Some(p.clone())),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "exitMp",
            None,
            handler(move |ctx, _| {
                let me = me.clone();
                async move {
                    me.host()?.exit_applet(&ctx.session.info().key, "wxfaceapp.exitMp");
                    Ok(Done::from(json!({})))
                }
            }),
        );
    }
}

/// A `deviceConfig` request (seed 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceConfig {
    pub exit: bool,
    /// `Some(true)`: hide (1); `Some(false)`: show (2).
    pub hide_navigation: Option<bool>,
    /// `Some(true)`: disable (1); `Some(false)`: enable (2).
    pub block_notifications: Option<bool>,
}

impl DeviceConfig {
    pub fn parse(params: &Params) -> Result<DeviceConfig, ApiError> {
        let inner = match params.get("deviceConfig") {
            Some(Value::Object(m)) => Params(m.clone()),
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "deviceConfig 应为对象, 收到 {}",
                    booth_bridge::params::kind(other)
                )))
            }
            None => return Err(ApiError::invalid("缺少 deviceConfig")),
        };
        for key in inner.0.keys() {
            if !matches!(
                key.as_str(),
                "exitApplet" | "hideNavigationBar" | "hindeNotificationBar" | "hideNotificationBar"
            ) {
                return Err(ApiError::invalid(format!(
                    "deviceConfig.{key} 不是 exitApplet、hideNavigationBar、hindeNotificationBar 之一"
                )));
            }
        }
        let exit = match inner.int("exitApplet")? {
            None => false,
            Some(1) => true,
            Some(v) => return Err(ApiError::invalid(format!("exitApplet 只能为 1 (关闭), 收到 {v}"))),
        };
        let one_two = |key: &str| -> Result<Option<bool>, ApiError> {
            match inner.int(key)? {
                None => Ok(None),
                Some(1) => Ok(Some(true)),
                Some(2) => Ok(Some(false)),
                Some(v) => Err(ApiError::invalid(format!("{key} 只能为 1 或 2, 收到 {v}"))),
            }
        };
        let hide_navigation = one_two("hideNavigationBar")?;
        // The seed spells it `hindeNotificationBar`; the correct spelling is accepted too.
        let block_notifications = match one_two("hindeNotificationBar")? {
            Some(v) => Some(v),
            None => one_two("hideNotificationBar")?,
        };
        let change = DeviceConfig { exit, hide_navigation, block_notifications };
        if change == DeviceConfig::default() {
            return Err(ApiError::invalid("deviceConfig 中没有要设置的项"));
        }
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Params {
        Params(v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn device_config_follows_the_seed_and_refuses_the_rest() {
        let c = DeviceConfig::parse(&params(
            json!({"deviceConfig": {"exitApplet": 1, "hideNavigationBar": 1, "hindeNotificationBar": 1}}),
        ))
        .unwrap();
        assert_eq!(c, DeviceConfig { exit: true, hide_navigation: Some(true), block_notifications: Some(true) });
        let c = DeviceConfig::parse(&params(json!({"deviceConfig": {"hideNavigationBar": "2"}}))).unwrap();
        assert_eq!(c, DeviceConfig { exit: false, hide_navigation: Some(false), block_notifications: None });
        let c = DeviceConfig::parse(&params(json!({"deviceConfig": {"hideNotificationBar": 2}}))).unwrap();
        assert_eq!(c.block_notifications, Some(false));
        for (bad, says) in [
            (json!({}), "缺少 deviceConfig"),
            (json!({"deviceConfig": 1}), "应为对象"),
            (json!({"deviceConfig": {}}), "没有要设置的项"),
            (json!({"deviceConfig": {"exitApplet": 2}}), "exitApplet"),
            (json!({"deviceConfig": {"hideNavigationBar": 3}}), "hideNavigationBar"),
            (json!({"deviceConfig": {"hindeNotificationBar": "x"}}), "hindeNotificationBar"),
            (json!({"deviceConfig": {"exitApp": 1}}), "exitApp"),
        ] {
            let e = DeviceConfig::parse(&params(bad.clone())).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParams, "{bad}");
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }

    struct Nowhere;
    impl booth_bridge::EventSink for Nowhere {
        fn deliver(&self, _: booth_bridge::EventMessage) -> bool {
            true
        }
    }

    /// Records what the page asked of the windows.
    #[derive(Default)]
    struct Windows(Mutex<Vec<String>>);

    impl ShellHost for Arc<Windows> {
        fn device_config(&self, label: &str, change: DeviceConfig) -> Result<(), ApiError> {
            self.0.lock().unwrap().push(format!("{label}: {change:?}"));
            Ok(())
        }
        fn exit_applet(&self, label: &str, why: &str) {
            self.0.lock().unwrap().push(format!("{label}: exit ({why})"));
        }
    }

    #[tokio::test]
    async fn handlers_reach_the_host_and_arm_the_watcher() {
        let bridge = Bridge::default();
        let apis = ShellApis::new(Some(Duration::from_secs(30)));
        apis.register(&bridge);
        let (dialects, permissions) = booth_bridge::all_permissions();
        let info = booth_bridge::SessionInfo {
            key: "main".into(),
            package_id: "t".into(),
            permissions,
            dialects,
            screen: booth_bridge::Screen::Front,
            url: "booth://localhost/".into(),
        };
        let id = bridge.open_session(info, Arc::new(Nowhere));
        let config =
            r#"{"action":"deviceConfig","event":"open","taskId":"1","params":{"deviceConfig":{"exitApplet":1}}}"#;
        // No windows yet: a clear refusal, not a pretended success.
        let r = bridge.call(id, Dialect::My, "ampeHHCommunication", config).await;
        assert_eq!(r.body["errorCode"], "DEVICE_UNAVAILABLE", "{:?}", r.body);
        let windows = Arc::new(Windows::default());
        apis.set_host(windows.clone());
        let r = bridge.call(id, Dialect::My, "ampeHHCommunication", config).await;
        assert_eq!(r.body["success"], true, "{:?}", r.body);
        let r = bridge.call(id, Dialect::Wxfaceapp, "exitMp", "{}").await;
        assert!(r.ok, "{:?}", r.body);
        assert_eq!(
            *windows.0.lock().unwrap(),
            vec![
                "main: DeviceConfig { exit: true, hide_navigation: None, block_notifications: None }".to_string(),
                "main: exit (wxfaceapp.exitMp)".to_string()
            ]
        );
        // The watcher is armed for this page with the configured time; 0 turns it off.
        assert!(!apis.timers().armed(id));
        let r = bridge.call(id, Dialect::My, "ampeStartOperationWatcher", "{}").await;
        assert_eq!(r.body["timeout"], 30, "{:?}", r.body);
        assert!(apis.timers().armed(id));
        apis.set_operation_timeout(None);
        let r = bridge.call(id, Dialect::My, "ampeStartOperationWatcher", "{}").await;
        assert_eq!(r.body["timeout"], 0, "{:?}", r.body);
        assert!(!apis.timers().armed(id));
    }
}
