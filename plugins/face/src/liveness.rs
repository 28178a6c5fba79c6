//! The active liveness challenge: the person turns their head left and right, in an order
//! chosen at random for each attempt, watched through the detector's keypoints.
//!
//! What it stops: a printed photo or a still picture on a screen held up to the camera. Turning
//! a flat picture moves the nose and the ears together, so the head-turn measure (where the nose
//! sits between the ears) hardly changes; moving or tilting the picture does not change it
//! either. A still image never completes a step, and the random order defeats a recording of
//! one fixed sequence unless it is played interactively.
//!
//! What it does not stop: a video of the person replayed while following the prompts (a
//! person with a phone can do that), a 3-D mask, or a printed photo bent around a cylinder
//! and swivelled with care. Payment-grade liveness needs depth or infrared cameras. There is
//! no blink step: the landmark model that sees eyelids (FaceMesh) is not shipped yet.
//!
//! The attempt (booth-face's handlers) also checks that one face, the same person, is seen
//! throughout: the face box moves continuously from frame to frame, and the faces at the start
//! and at the end of the challenge match.

use crate::detect::Detection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The person's own left.
    TurnLeft,
    TurnRight,
}

impl Step {
    pub fn prompt(self) -> &'static str {
        match self {
            Step::TurnLeft => "请缓慢向左转头",
            Step::TurnRight => "请缓慢向右转头",
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Step::TurnLeft => "TURN_LEFT",
            Step::TurnRight => "TURN_RIGHT",
        }
    }
}

/// How far a turn must go, in yaw units (see [`Detection::yaw`]) from the person's own
/// frontal pose, and how close to it "facing the camera again" is.
pub const TURN: f32 = 0.22;
pub const BACK: f32 = 0.1;
/// Frames a pose must be held.
const HOLD: usize = 2;

#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Show this prompt.
    Prompt(&'static str),
    /// Every step done, facing the camera again.
    Done,
}

#[derive(Debug, Clone)]
enum Phase {
    /// Looking for a steady frontal pose.
    Baseline(Vec<f32>),
    /// Doing step `i`; `held` frames past the threshold so far.
    Turning {
        i: usize,
        held: usize,
    },
    /// Back to the front after step `i`.
    Returning {
        i: usize,
        held: usize,
    },
    Done,
}

pub struct Challenge {
    steps: Vec<Step>,
    baseline: f32,
    phase: Phase,
    /// The person's left is the picture's right unless the frames are mirrored.
    left_sign: f32,
}

impl Challenge {
    /// `n` turns, alternating directions, starting with a random one.
    pub fn random(n: usize, mirrored: bool) -> Challenge {
        let mut b = [0u8; 1];
        let first_left = getrandom::fill(&mut b).map(|()| b[0] & 1 == 0).unwrap_or(true);
        let steps = (0..n).map(|i| if (i % 2 == 0) == first_left { Step::TurnLeft } else { Step::TurnRight }).collect();
        Challenge::new(steps, mirrored)
    }

    pub fn new(steps: Vec<Step>, mirrored: bool) -> Challenge {
        let phase = if steps.is_empty() { Phase::Done } else { Phase::Baseline(Vec::new()) };
        Challenge { steps, baseline: 0.0, phase, left_sign: if mirrored { -1.0 } else { 1.0 } }
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Which step is being asked for (for the screen), if any.
    pub fn current(&self) -> Option<Step> {
        match self.phase {
            Phase::Turning { i, .. } => Some(self.steps[i]),
            _ => None,
        }
    }

    /// Starts over (the face was lost or changed).
    pub fn restart(&mut self) {
        if !self.steps.is_empty() {
            self.phase = Phase::Baseline(Vec::new());
        }
    }

    /// Feeds the one face of a frame.
    pub fn feed(&mut self, face: &Detection) -> Progress {
        let yaw = face.yaw();
        match &mut self.phase {
            Phase::Done => return Progress::Done,
            Phase::Baseline(seen) => {
                if yaw.abs() > 0.3 {
                    seen.clear();
                    return Progress::Prompt("请正对摄像头");
                }
                seen.push(yaw);
                if seen.len() >= 3 {
                    let recent = &seen[seen.len() - 3..];
                    let mean = recent.iter().sum::<f32>() / 3.0;
                    if recent.iter().all(|y| (y - mean).abs() < 0.05) {
                        self.baseline = mean;
                        self.phase = Phase::Turning { i: 0, held: 0 };
                        return Progress::Prompt(self.steps[0].prompt());
                    }
                }
                return Progress::Prompt("请保持不动");
            }
            Phase::Turning { i, held } => {
                let step = self.steps[*i];
                let toward = (yaw - self.baseline) * self.left_sign * if step == Step::TurnLeft { 1.0 } else { -1.0 };
                if toward >= TURN {
                    *held += 1;
                    if *held >= HOLD {
                        self.phase = Phase::Returning { i: *i, held: 0 };
                        return Progress::Prompt("请正对摄像头");
                    }
                } else {
                    *held = 0;
                }
                return Progress::Prompt(step.prompt());
            }
            Phase::Returning { i, held } => {
                if (yaw - self.baseline).abs() <= BACK {
                    *held += 1;
                    if *held >= HOLD {
                        let next = *i + 1;
                        if next >= self.steps.len() {
                            self.phase = Phase::Done;
                            return Progress::Done;
                        }
                        self.phase = Phase::Turning { i: next, held: 0 };
                        return Progress::Prompt(self.steps[next].prompt());
                    }
                } else {
                    *held = 0;
                }
            }
        }
        Progress::Prompt("请正对摄像头")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{kp, Point};

    /// A face whose nose sits `yaw` of the way from the middle towards the picture's right.
    fn face(yaw: f32) -> Detection {
        let mut k = [Point::default(); 6];
        k[kp::RIGHT_EAR] = Point { x: 100.0, y: 100.0 };
        k[kp::LEFT_EAR] = Point { x: 300.0, y: 100.0 };
        // (2n - r - l) / (l - r) = yaw
        k[kp::NOSE] = Point { x: (yaw * 200.0 + 400.0) / 2.0, y: 120.0 };
        k[kp::RIGHT_EYE] = Point { x: 160.0, y: 90.0 };
        k[kp::LEFT_EYE] = Point { x: 240.0, y: 90.0 };
        k[kp::MOUTH] = Point { x: 200.0, y: 150.0 };
        Detection { cx: 200.0, cy: 110.0, w: 220.0, h: 220.0, score: 0.9, keypoints: k }
    }

    fn run(c: &mut Challenge, yaws: &[f32]) -> Progress {
        let mut last = Progress::Prompt("");
        for y in yaws {
            last = c.feed(&face(*y));
        }
        last
    }

    #[test]
    fn turns_in_the_asked_order_pass() {
        let mut c = Challenge::new(vec![Step::TurnLeft, Step::TurnRight], false);
        assert_eq!(run(&mut c, &[0.0, 0.01, 0.0]), Progress::Prompt("请缓慢向左转头"));
        // The person's left is the picture's right (positive yaw) in an unmirrored frame.
        assert_eq!(run(&mut c, &[0.1, 0.3, 0.35]), Progress::Prompt("请正对摄像头"));
        assert_eq!(run(&mut c, &[0.05, 0.0]), Progress::Prompt("请缓慢向右转头"));
        assert_eq!(run(&mut c, &[-0.3, -0.3, 0.0, 0.02]), Progress::Done);
        assert!(c.done());
    }

    #[test]
    fn a_still_photo_and_the_wrong_direction_never_pass() {
        let mut c = Challenge::new(vec![Step::TurnLeft, Step::TurnRight], false);
        assert_ne!(run(&mut c, &[0.02; 200]), Progress::Done);
        let mut c = Challenge::new(vec![Step::TurnLeft], false);
        assert_eq!(run(&mut c, &[0.0, 0.0, 0.0, -0.4, -0.4, -0.4, 0.0, 0.0]), Progress::Prompt("请缓慢向左转头"));
        // Mirrored frames swap the sides.
        let mut c = Challenge::new(vec![Step::TurnLeft], true);
        assert_eq!(run(&mut c, &[0.0, 0.0, 0.0, -0.4, -0.4, 0.0, 0.0]), Progress::Done);
    }

    #[test]
    fn random_challenges_alternate_and_vary() {
        let mut firsts = std::collections::HashSet::new();
        for _ in 0..64 {
            let c = Challenge::random(2, false);
            assert_ne!(c.steps()[0], c.steps()[1]);
            firsts.insert(c.steps()[0]);
        }
        assert_eq!(firsts.len(), 2, "both orders occur");
        assert!(Challenge::random(0, false).done());
    }
}
