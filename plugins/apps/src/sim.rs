//! The simulator panel's "two screens" device (`/sim/apps/…`): what a developer of a pair of
//! apps needs without a cashier at the other screen.
//!
//! - `front {appId, page}`: the main window shows that catalogue app (empty: `[package]`),
//!   as finOpenOtherApp would put it there.
//! - `back {appId, page}`: the back screen shows that app, as launchMp would (empty: the back
//!   screen's app ends, as with its exitMp).
//! - `post {to, content, from}`: the app on screen `to` gets `{senderAppid, content}` by
//!   onRemoteMessage, as if the other screen's app had called postMsg (`from` names the sender
//!   when nothing runs there).
//!
//! Its state shows the app on each screen and the catalogue.

use crate::{other, TwoScreenHost, TwoScreens, DELIVERY_WAIT, MAX_CONTENT_CHARS, TOPIC_REMOTE};
use booth_bridge::sim::{Action, Field, SimDevice, SimError, SimRegistry};
use booth_bridge::Screen;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The device's path segment: `/sim/apps/<action>`.
pub const SIM_ID: &str = "apps";

impl TwoScreens {
    /// Adds the "two screens" simulator to the panel and `/sim`.
    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        sims.register(Arc::new(AppsSim(self.clone())));
    }

    fn sim_host(&self) -> Result<Arc<dyn TwoScreenHost>, SimError> {
        self.host.get().cloned().ok_or_else(|| SimError::Refused("the windows are not open yet".into()))
    }

    /// The simulator's `post`: delivers as postMsg does (in order, to the target app's page
    /// only), waiting up to 3 s for it to listen. Runs on a blocking thread.
    fn sim_post(&self, to: Screen, content: &str, from: &str) -> Result<Value, SimError> {
        let chars = content.chars().count();
        if chars > MAX_CONTENT_CHARS {
            return Err(SimError::InvalidArgs(format!("content: {chars} characters, at most {MAX_CONTENT_CHARS}")));
        }
        let target =
            self.running_on(to).ok_or_else(|| SimError::Refused(format!("no app runs on the {} screen", name(to))))?;
        let sender = match from.trim() {
            "" => self.running_on(other(to)).ok_or_else(|| {
                SimError::Refused(format!("no app runs on the {} screen: say who sends (`from`)", name(other(to))))
            })?,
            given => given.to_string(),
        };
        let payload = json!({"senderAppid": sender, "content": content});
        let bus = self.bridge.bus();
        let _lane = self.lanes[crate::lane(to)].blocking_lock();
        let deadline = Instant::now() + DELIVERY_WAIT;
        while !self.deliver_now(&bus, to, &target, &payload) {
            if Instant::now() >= deadline {
                return Err(SimError::Refused(format!("{target} did not listen (onRemoteMessage) within 3 s")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::info!(from = %sender, to = %target, chars, topic = TOPIC_REMOTE, "simulator: message delivered");
        Ok(json!({"senderAppid": sender, "targetAppid": target}))
    }
}

fn name(screen: Screen) -> &'static str {
    match screen {
        Screen::Front => "front",
        Screen::Back => "back",
    }
}

struct AppsSim(Arc<TwoScreens>);

impl AppsSim {
    fn text<'a>(args: &'a Map<String, Value>, key: &str) -> &'a str {
        args.get(key).and_then(Value::as_str).map(str::trim).unwrap_or_default()
    }
}

impl SimDevice for AppsSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "两屏小程序 Two screens"
    }
    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new(
                "front",
                "前屏切换小程序 Front screen app",
                vec![
                    Field::text("appId", "appId (空: [package])", ""),
                    Field::text("page", "页面 Page (空: 入口 entry)", ""),
                ],
            ),
            Action::new(
                "back",
                "后屏切换小程序 Back screen app",
                vec![
                    Field::text("appId", "appId (空: 结束后屏小程序 end it)", ""),
                    Field::text("page", "页面 Page (空: 入口 entry)", ""),
                ],
            ),
            Action::new(
                "post",
                "以另一屏小程序发消息 Message from the other screen",
                vec![
                    Field::choice("to", "发给 To", &["front", "back"], "front"),
                    Field::text("content", "内容 Content", "").required(),
                    Field::text("from", "发送者 appId (空: 另一屏的小程序)", ""),
                ],
            ),
        ]
    }
    fn state(&self) -> Value {
        let apps = self.0.host.get().map(|h| h.apps()).unwrap_or_default();
        json!({
            "front": self.0.running_on(Screen::Front),
            "back": self.0.running_on(Screen::Back),
            "apps": apps,
        })
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        let (app, page) = (Self::text(args, "appId"), Self::text(args, "page"));
        match action {
            "front" => {
                let host = self.0.sim_host()?;
                if app.is_empty() {
                    if !page.is_empty() {
                        return Err(SimError::InvalidArgs("page: [package] opens at its entry".into()));
                    }
                    host.open_front("", "").map_err(SimError::Refused)?;
                    return Ok(json!({"front": null}));
                }
                let page =
                    host.resolve_page(app, page).map_err(|why| SimError::InvalidArgs(format!("{app}: {why}")))?;
                host.open_front(app, &page).map_err(SimError::Refused)?;
                tracing::info!(app, page = %page, "simulator: front screen app");
                Ok(json!({"front": app, "page": page}))
            }
            "back" => {
                let host = self.0.sim_host()?;
                if app.is_empty() {
                    let ended = host.close_back();
                    return Ok(json!({"back": null, "ended": ended}));
                }
                if !host.has_back_screen() {
                    return Err(SimError::Refused("no back screen (a second monitor)".into()));
                }
                let page =
                    host.resolve_page(app, page).map_err(|why| SimError::InvalidArgs(format!("{app}: {why}")))?;
                *self.0.starting.lock().unwrap_or_else(|p| p.into_inner()) = Some((app.to_string(), Instant::now()));
                host.launch(app, &page).map_err(|e| SimError::Refused(e.to_string()))?;
                tracing::info!(app, page = %page, "simulator: back screen app");
                Ok(json!({"back": app, "page": page}))
            }
            "post" => {
                let to = match Self::text(args, "to") {
                    "back" => Screen::Back,
                    _ => Screen::Front,
                };
                let content = args.get("content").and_then(Value::as_str).unwrap_or_default();
                self.0.sim_post(to, content, Self::text(args, "from"))
            }
            other => Err(SimError::InvalidArgs(format!("unknown action {other}"))),
        }
    }
}
