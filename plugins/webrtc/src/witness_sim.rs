//! The witnessed call's simulator (`booth dev`): no media server, an agent played by the
//! simulator panel. The call screen shows the customer's camera and a generated agent picture;
//! the panel's `decide` (approved, rejected with a reason, failed) or `leave` ends the call as
//! the real agent's word would, and `[witness] record` records both pictures as for a real call.
//! The page sees the same replies as with Janus.

use crate::call::{CallObserver, Phase};
use crate::stream::LocalTrack;
use crate::witness::{decision, Outcome};
use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use booth_camera::{Backend, Camera, CameraConfig, Frame, Source};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The panel's path: `POST /sim/witness/<action>`.
pub const SIM_ID: &str = "witness";
const OUTCOMES: [&str; 3] = ["approved", "rejected", "failed"];

/// The simulated agent.
#[derive(Default)]
pub struct WitnessSim {
    /// The call in progress: where the panel's word goes.
    call: Mutex<Option<mpsc::UnboundedSender<String>>>,
    calls: Mutex<u64>,
}

/// The agent's picture: a test card in the simulator's colours, 15 frames a second.
struct AgentCard {
    next: Instant,
    n: u32,
}

impl Source for AgentCard {
    fn open(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn next(&mut self) -> Result<Frame, String> {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next = Instant::now() + Duration::from_millis(66);
        self.n = self.n.wrapping_add(1);
        let (w, h) = (320usize, 240usize);
        let mut px = Vec::with_capacity(w * h * 3);
        // Blue, with a bar that moves so that a frozen picture shows.
        let bar = (self.n as usize * 4) % w;
        for _ in 0..h {
            for x in 0..w {
                px.extend_from_slice(if x.abs_diff(bar) < 6 { &[255, 214, 102] } else { &[22, 119, 255] });
            }
        }
        Ok(Frame::new(w as u32, h as u32, px))
    }
}

fn agent_camera() -> Camera {
    let config = CameraConfig { backend: Backend::Sim, width: 320, height: 240, fps: 15, ..Default::default() };
    Camera::with_source(
        config,
        Box::new(|| Some(Box::new(AgentCard { next: Instant::now(), n: 0 }) as Box<dyn Source>)),
        None,
    )
}

impl WitnessSim {
    /// A simulated call: ends on the panel's word, the person hanging up (`stop`), or
    /// `max_call`.
    pub async fn run(
        &self,
        customer_camera: &Camera,
        recordings: Option<&Path>,
        room_id: &str,
        max_call: Duration,
        observer: Arc<dyn CallObserver>,
        mut stop: watch::Receiver<Option<String>>,
    ) -> Outcome {
        let customer = match crate::call::customer_track(customer_camera).await {
            Ok(t) => t,
            Err(o) => return o,
        };
        let agent_cam = agent_camera();
        let agent = match LocalTrack::camera(&agent_cam) {
            Ok(t) => t,
            Err(e) => return Outcome::failed(format!("模拟坐席: {e}")),
        };
        observer.customer(&customer);
        observer.agent_track(&agent);
        observer.progress(Phase::Connecting, "正在连接视频服务… (模拟)");
        let recorder = match recordings {
            None => None,
            Some(dir) => match crate::call::start_recording(dir, room_id) {
                Ok(r) => {
                    r.set_customer(&customer, None);
                    r.set_agent_camera(&agent_cam);
                    Some(r)
                }
                Err(e) => {
                    customer.stop();
                    agent.stop();
                    return Outcome::failed(format!("无法录像: {e}"));
                }
            },
        };
        let (tx, mut words) = mpsc::unbounded_channel();
        *self.call.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        *self.calls.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
        observer.progress(Phase::InCall, "通话中 · 模拟坐席");
        let deadline = tokio::time::sleep(max_call);
        tokio::pin!(deadline);
        let mut outcome = loop {
            tokio::select! {
                m = crate::call::stopped(&mut stop) => break Outcome::failed(m),
                _ = &mut deadline => break Outcome::failed(format!("通话超过 {} 秒", max_call.as_secs())),
                w = words.recv() => match w.as_deref() {
                    Some("leave") | None => break Outcome::failed("坐席已离开, 视频认证未完成"),
                    Some(text) => if let Some(o) = decision(text) { break o },
                },
            }
        };
        *self.call.lock().unwrap_or_else(|p| p.into_inner()) = None;
        customer.stop();
        agent.stop();
        if let Some(r) = recorder {
            outcome.recording = Some(tokio::task::spawn_blocking(move || r.finish()).await.unwrap_or_default());
        }
        outcome
    }

    fn say(&self, text: String) -> Result<(), SimError> {
        match self.call.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(tx) if tx.send(text).is_ok() => Ok(()),
            _ => Err(SimError::InvalidArgs("没有进行中的视频认证 (no witnessed call in progress)".into())),
        }
    }
}

/// The simulator panel's controls.
pub struct WitnessSimDevice(pub Arc<WitnessSim>);

impl SimDevice for WitnessSimDevice {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "视频见证坐席 Witness agent"
    }
    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new(
                "decide",
                "坐席决定 Agent decides",
                vec![
                    Field::choice("outcome", "结果 Outcome", &OUTCOMES, "approved"),
                    Field::text("reason", "驳回理由 Reason (rejected)", "证件照片不清晰"),
                ],
            ),
            Action::new("leave", "坐席离开 Agent leaves", vec![]),
        ]
    }
    fn state(&self) -> Value {
        let in_call = self.0.call.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        json!({"inCall": in_call, "calls": *self.0.calls.lock().unwrap_or_else(|p| p.into_inner())})
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        match action {
            "decide" => {
                let outcome = args.get("outcome").and_then(Value::as_str).unwrap_or_default();
                let reason = args.get("reason").and_then(Value::as_str).unwrap_or_default();
                let text = match outcome {
                    "approved" => "approved".to_string(),
                    "rejected" => format!("rejected: {reason}"),
                    "failed" => "failed".to_string(),
                    _ => return Err(SimError::InvalidArgs(format!("outcome: {}", OUTCOMES.join(", ")))),
                };
                self.0.say(text)?;
            }
            "leave" => self.0.say("leave".into())?,
            _ => {}
        }
        Ok(self.state())
    }
}
