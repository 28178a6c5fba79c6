//! One capture attempt on the face screen: frames from the camera until a good, live face of
//! one person is captured, or the attempt fails (no face, liveness not passed, cancelled,
//! timed out, camera gone).

use crate::detect::Detection;
use crate::embed::{align, Embedding};
use crate::liveness::{Challenge, Progress};
use crate::quality::{Gates, Problem};
use crate::{Engine, FaceError};
use booth_camera::{CameraError, Frame, Subscription};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Spec {
    pub liveness_steps: usize,
    pub timeout: Duration,
    pub mirrored: bool,
    pub gates: Gates,
    /// The faces at the start and the end of the challenge must be this close (L2).
    pub same_person: f32,
}

/// A successful capture: the person's embeddings (at the start and at the end of the
/// challenge) and the frame of the last one.
pub struct Capture {
    pub embeddings: Vec<Embedding>,
    pub frame: Frame,
}

impl Capture {
    pub fn embedding(&self) -> &Embedding {
        // Never empty: built with at least one.
        &self.embeddings[self.embeddings.len() - 1]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// No face was seen at all.
    NoFace,
    /// A face was seen but never good enough (the last problem).
    Quality(Problem),
    /// A face was captured but the challenge was not completed in time.
    Liveness,
    Cancelled,
    Camera(String),
    Engine(FaceError),
}

impl Failure {
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NoFace => "NO_FACE",
            Failure::Quality(p) => p.code(),
            Failure::Liveness => "LIVENESS_FAILED",
            Failure::Cancelled => "CANCELLED",
            Failure::Camera(_) => "CAMERA_UNAVAILABLE",
            Failure::Engine(_) => "ENGINE_ERROR",
        }
    }

    /// What the page shows (seed 000 insists that a failed face call shows its message).
    pub fn message(&self) -> String {
        match self {
            Failure::NoFace => "未检测到人脸".into(),
            Failure::Quality(p) => format!("未采集到合格的人脸 ({})", p.prompt()),
            Failure::Liveness => "活体检测未通过".into(),
            Failure::Cancelled => "用户取消刷脸".into(),
            Failure::Camera(d) => format!("摄像头不可用: {d}"),
            Failure::Engine(e) => e.to_string(),
        }
    }
}

/// Lost for this many frames in a row, the face counts as gone and the challenge starts over.
const LOST_FRAMES: usize = 4;

/// Runs one attempt. `report` gets the screen's state (prompt, step) whenever it changes.
pub fn run(
    engine: &Engine,
    frames: &mut Subscription,
    spec: &Spec,
    cancel: &CancellationToken,
    report: &mut dyn FnMut(Value),
) -> Result<Capture, Failure> {
    // The camera is unavailable only after 5 s without any picture; time spent detecting on
    // pictures that did come (slow on a loaded machine) does not count.
    let start = Instant::now();
    let mut last_frame_at = start;
    let deadline = start + spec.timeout;
    let mut challenge = Challenge::random(spec.liveness_steps, spec.mirrored);
    let mut reference: Option<Embedding> = None;
    let mut previous: Option<Detection> = None;
    let mut lost = 0usize;
    let mut seen_face = false;
    let mut last_problem: Option<Problem> = None;
    let mut last_prompt = String::new();
    let mut say = |prompt: &str, step: Option<&str>, report: &mut dyn FnMut(Value)| {
        if prompt != last_prompt {
            last_prompt = prompt.to_string();
            report(json!({"prompt": prompt, "step": step}));
        }
    };
    say("请正对摄像头", None, report);
    loop {
        if cancel.is_cancelled() {
            return Err(Failure::Cancelled);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(match (seen_face, reference.is_some(), last_problem) {
                (false, _, _) => Failure::NoFace,
                (true, true, _) if spec.liveness_steps > 0 => Failure::Liveness,
                (true, _, Some(p)) => Failure::Quality(p),
                (true, _, None) => Failure::Liveness,
            });
        }
        let wait = (deadline - now).min(Duration::from_millis(500));
        let frame = match frames.next_frame(wait) {
            Ok(f) => {
                last_frame_at = Instant::now();
                f
            }
            Err(CameraError::Unavailable(d)) => return Err(Failure::Camera(d)),
            Err(CameraError::NoFrame(_))
                if last_frame_at.elapsed() > Duration::from_secs(5) && previous.is_none() && !seen_face =>
            {
                return Err(Failure::Camera("5 秒没有画面".into()));
            }
            Err(CameraError::NoFrame(_)) => continue,
        };
        let faces = engine.detect(&frame).map_err(Failure::Engine)?;
        let face = match faces.as_slice() {
            [] => {
                lost += 1;
                if lost >= LOST_FRAMES {
                    challenge.restart();
                    reference = None;
                    previous = None;
                }
                say(Problem::NoFace.prompt(), None, report);
                continue;
            }
            [one] => *one,
            _ => {
                seen_face = true;
                last_problem = Some(Problem::TooMany);
                challenge.restart();
                reference = None;
                previous = None;
                say(Problem::TooMany.prompt(), None, report);
                continue;
            }
        };
        seen_face = true;
        lost = 0;
        // One person throughout: the face moves continuously; a jump is someone else.
        if let Some(p) = previous {
            if face.iou(&p) < 0.2 {
                challenge.restart();
                reference = None;
            }
        }
        previous = Some(face);
        if reference.is_none() {
            match good_embedding(engine, &frame, &face, &spec.gates) {
                Ok(e) => reference = Some(e),
                Err(Ok(problem)) => {
                    last_problem = Some(problem);
                    say(problem.prompt(), None, report);
                    continue;
                }
                Err(Err(e)) => return Err(Failure::Engine(e)),
            }
            if spec.liveness_steps == 0 {
                let embeddings = reference.into_iter().collect();
                return Ok(Capture { embeddings, frame });
            }
        }
        if !challenge.done() {
            match challenge.feed(&face) {
                Progress::Prompt(p) => {
                    say(p, challenge.current().map(|s| s.code()), report);
                    continue;
                }
                Progress::Done => {}
            }
        }
        // Challenge done: one more good frontal face, which must be the same person.
        match good_embedding(engine, &frame, &face, &spec.gates) {
            Ok(last) => {
                let first = reference.take().unwrap_or_else(|| last.clone());
                if first.distance(&last) > spec.same_person {
                    tracing::info!("face attempt: the face changed during the challenge; starting over");
                    challenge.restart();
                    say("请同一人完成动作", None, report);
                    continue;
                }
                say("识别中", None, report);
                return Ok(Capture { embeddings: vec![first, last], frame });
            }
            Err(Ok(problem)) => {
                last_problem = Some(problem);
                say(problem.prompt(), None, report);
            }
            Err(Err(e)) => return Err(Failure::Engine(e)),
        }
    }
}

/// The face's embedding if it passes every gate; else the problem (or an engine error).
fn good_embedding(
    engine: &Engine,
    frame: &Frame,
    face: &Detection,
    gates: &Gates,
) -> Result<Embedding, Result<Problem, FaceError>> {
    gates.placement(std::slice::from_ref(face)).map_err(Ok)?;
    let chip = align(frame, face);
    gates.picture(&chip).map_err(Ok)?;
    engine.embedder.embed(&chip).map_err(Err)
}
