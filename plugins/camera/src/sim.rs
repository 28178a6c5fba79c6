//! The camera simulator: what a developer without a camera (or a test) puts in front of Booth.
//!
//! Scenes: `person` (the chosen picture as a live person: it turns its head left and right,
//! slowly, in a loop, so an active liveness challenge can pass), `photo` (the same picture held
//! up as a printed photo: smaller, with a white border, perfectly still — no blink, no turn),
//! `two` (the picture twice, side by side), `nobody` (an empty grey scene). The picture comes
//! from the panel (`POST /sim/camera/show`) or from [`SimCamera::set_picture`].

use crate::source::Pacer;
use crate::{CameraConfig, Frame, Source};
use base64::Engine;
use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

pub const SIM_ID: &str = "camera";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    Person,
    Photo,
    Two,
    Nobody,
}

impl Scene {
    pub const NAMES: [&'static str; 4] = ["person", "photo", "two", "nobody"];

    pub fn parse(s: &str) -> Option<Scene> {
        Some(match s {
            "person" => Scene::Person,
            "photo" => Scene::Photo,
            "two" => Scene::Two,
            "nobody" => Scene::Nobody,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scene::Person => "person",
            Scene::Photo => "photo",
            Scene::Two => "two",
            Scene::Nobody => "nobody",
        }
    }
}

struct State {
    scene: Scene,
    picture: Option<Frame>,
    /// Counts frames generated, for the head-turn animation.
    tick: u64,
    /// Set by `unplug`: the simulated camera fails until `plug`.
    unplugged: bool,
}

/// The simulator's state and controls.
pub struct SimCamera {
    width: u32,
    height: u32,
    state: Mutex<State>,
}

impl SimCamera {
    pub fn new(cfg: &CameraConfig) -> Arc<SimCamera> {
        Arc::new(SimCamera {
            width: cfg.width,
            height: cfg.height,
            state: Mutex::new(State { scene: Scene::Nobody, picture: None, tick: 0, unplugged: false }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The picture of the person in front of the camera (a face, roughly centred).
    pub fn set_picture(&self, picture: Frame) {
        self.lock().picture = Some(picture);
    }

    pub fn set_scene(&self, scene: Scene) {
        let mut s = self.lock();
        s.scene = scene;
        s.tick = 0;
    }

    pub fn scene(&self) -> Scene {
        self.lock().scene
    }

    pub fn set_unplugged(&self, unplugged: bool) {
        self.lock().unplugged = unplugged;
    }

    /// The next frame of the current scene.
    pub fn render(&self) -> Result<Frame, String> {
        let mut s = self.lock();
        if s.unplugged {
            return Err("simulated camera unplugged".into());
        }
        s.tick += 1;
        let (w, h) = (self.width, self.height);
        let background = Frame::filled(w, h, [120, 124, 128]);
        let Some(picture) = s.picture.clone() else { return Ok(background) };
        Ok(match s.scene {
            Scene::Nobody => background,
            Scene::Person => {
                let fitted = fit(&picture, w, h);
                // A slow head turn: 0 → left → 0 → right → 0, about 4 s a cycle at 15 fps.
                let phase = (s.tick % 60) as f32 / 60.0 * std::f32::consts::TAU;
                let size = fitted.width.min(fitted.height) as f32;
                let shift = phase.sin() * size * 0.09;
                head_turn(&fitted, fitted.width as f32 / 2.0, fitted.height as f32 / 2.0, size * 0.13, shift)
            }
            Scene::Photo => {
                let inner = fit(&picture, w * 3 / 5, h * 3 / 5);
                let mut card = Frame::filled(inner.width + 24, inner.height + 24, [250, 250, 250]);
                paste(&mut card, &inner, 12, 12);
                let mut out = background;
                paste(&mut out, &card, (w - card.width) / 2, (h - card.height) / 2);
                out
            }
            Scene::Two => {
                let half = fit(&picture, w / 2, h);
                let mut out = background;
                paste(&mut out, &half, 0, (h - half.height) / 2);
                paste(&mut out, &half, w / 2, (h - half.height) / 2);
                out
            }
        })
    }
}

/// Scaled to fit within `w`×`h`, keeping its proportions.
fn fit(picture: &Frame, w: u32, h: u32) -> Frame {
    let s = (w as f32 / picture.width as f32).min(h as f32 / picture.height as f32);
    let (pw, ph) = (((picture.width as f32 * s) as u32).max(1), ((picture.height as f32 * s) as u32).max(1));
    let scaled = picture.resized(pw, ph);
    let mut out = Frame::filled(w, h, [120, 124, 128]);
    paste(&mut out, &scaled, (w - pw) / 2, (h - ph) / 2);
    out
}

fn paste(dst: &mut Frame, src: &Frame, x: u32, y: u32) {
    let mut px = dst.rgb.to_vec();
    let dw = dst.width as usize;
    for row in 0..src.height.min(dst.height.saturating_sub(y)) as usize {
        let n = src.width.min(dst.width.saturating_sub(x)) as usize * 3;
        let s = row * src.width as usize * 3;
        let d = ((y as usize + row) * dw + x as usize) * 3;
        px[d..d + n].copy_from_slice(&src.rgb[s..s + n]);
    }
    dst.rgb = px.into();
}

/// The part of the picture around (`cx`, `cy`) — the nose and eyes of a face — moved sideways
/// by `shift` pixels, fading out over `sigma` pixels, while the outer parts (ears, background)
/// stay: how a head turning looks to a camera.
pub fn head_turn(frame: &Frame, cx: f32, cy: f32, sigma: f32, shift: f32) -> Frame {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut out = vec![0u8; w * h * 3];
    for y in 0..h {
        let dy = y as f32 - cy;
        for x in 0..w {
            let dx = x as f32 - cx;
            let weight = (-(dx * dx + dy * dy * 0.5) / (2.0 * sigma * sigma)).exp();
            let p = frame.sample(x as f32 - shift * weight, y as f32);
            out[(y * w + x) * 3..][..3].copy_from_slice(&p);
        }
    }
    Frame { width: frame.width, height: frame.height, rgb: out.into(), seq: frame.seq, captured: frame.captured }
}

/// Generates the simulator's frames at the configured rate.
pub struct SimSource {
    sim: Arc<SimCamera>,
    pacer: Pacer,
}

impl SimSource {
    pub fn new(sim: Arc<SimCamera>, fps: u32) -> SimSource {
        SimSource { sim, pacer: Pacer::new(fps) }
    }
}

impl Source for SimSource {
    fn open(&mut self) -> Result<(), String> {
        if self.sim.lock().unplugged {
            return Err("simulated camera unplugged".into());
        }
        Ok(())
    }
    fn next(&mut self) -> Result<Frame, String> {
        self.pacer.wait();
        self.sim.render()
    }
}

/// The simulator panel's `camera` device.
pub struct CameraSim(pub Arc<SimCamera>);

impl SimDevice for CameraSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "摄像头 Camera"
    }
    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new(
                "show",
                "画面 Scene",
                vec![
                    Field::choice("scene", "场景 Scene", &Scene::NAMES, "person"),
                    Field::base64("picture", "人像 Picture (JPEG/PNG; empty: keep)"),
                ],
            ),
            Action::new("unplug", "拔出 Unplug", vec![]),
            Action::new("plug", "插回 Plug in", vec![]),
        ]
    }
    fn state(&self) -> Value {
        let s = self.0.lock();
        json!({"scene": s.scene.as_str(), "picture": s.picture.is_some(), "unplugged": s.unplugged})
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        match action {
            "show" => {
                let scene = args.get("scene").and_then(Value::as_str).and_then(Scene::parse).unwrap_or(Scene::Person);
                let picture = args.get("picture").and_then(Value::as_str).unwrap_or_default();
                if !picture.is_empty() {
                    let b64 = picture.split_once("base64,").map_or(picture, |(_, b)| b);
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|e| SimError::InvalidArgs(format!("camera show: `picture` is not base64 ({e})")))?;
                    let frame = Frame::decode(&bytes)
                        .map_err(|e| SimError::InvalidArgs(format!("camera show: `picture`: {e}")))?;
                    self.0.set_picture(frame);
                }
                if scene != Scene::Nobody && self.0.lock().picture.is_none() {
                    return Err(SimError::Refused("camera show: no picture yet (give `picture`)".into()));
                }
                self.0.set_scene(scene);
                Ok(json!({"scene": scene.as_str()}))
            }
            "unplug" => {
                self.0.set_unplugged(true);
                Ok(json!({"unplugged": true}))
            }
            "plug" => {
                self.0.set_unplugged(false);
                Ok(json!({"unplugged": false}))
            }
            other => Err(SimError::UnknownAction {
                device: SIM_ID.into(),
                action: other.into(),
                known: "show, unplug, plug".into(),
            }),
        }
    }
}
