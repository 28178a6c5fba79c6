//! Quality gates for a capture: one face, big enough, facing the camera, sharp, well lit.
//! Each failure has the prompt the face screen shows.

use crate::detect::Detection;
use crate::embed::Chip;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gates {
    /// Distance between the eyes, pixels.
    pub min_eye_px: f32,
    /// |yaw| for "facing the camera".
    pub max_yaw: f32,
    pub max_roll_deg: f32,
    pub pitch: (f32, f32),
    pub min_sharpness: f32,
    pub brightness: (f32, f32),
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            min_eye_px: 28.0,
            max_yaw: 0.3,
            max_roll_deg: 20.0,
            pitch: (0.2, 0.8),
            min_sharpness: 8.0,
            brightness: (40.0, 225.0),
        }
    }
}

/// Why a frame is not good enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    NoFace,
    TooMany,
    TooSmall,
    NotFacing,
    Blurred,
    TooDark,
    TooBright,
}

impl Problem {
    /// What the face screen says.
    pub fn prompt(self) -> &'static str {
        match self {
            Problem::NoFace | Problem::NotFacing => "请正对摄像头",
            Problem::TooMany => "请一个人刷脸",
            Problem::TooSmall => "请靠近一点",
            Problem::Blurred => "请保持不动",
            Problem::TooDark => "光线太暗，请靠近一点",
            Problem::TooBright => "光线太强",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Problem::NoFace => "NO_FACE",
            Problem::TooMany => "MULTIPLE_FACES",
            Problem::TooSmall => "FACE_TOO_SMALL",
            Problem::NotFacing => "NOT_FACING",
            Problem::Blurred => "BLURRED",
            Problem::TooDark => "TOO_DARK",
            Problem::TooBright => "TOO_BRIGHT",
        }
    }
}

impl Gates {
    /// Checks where the face is (no pixels needed): size and pose.
    pub fn placement(&self, faces: &[Detection]) -> Result<(), Problem> {
        let d = match faces {
            [] => return Err(Problem::NoFace),
            [d] => d,
            _ => return Err(Problem::TooMany),
        };
        if d.eye_distance() < self.min_eye_px {
            return Err(Problem::TooSmall);
        }
        if d.yaw().abs() > self.max_yaw || d.roll().abs() > self.max_roll_deg {
            return Err(Problem::NotFacing);
        }
        let p = d.pitch();
        if p < self.pitch.0 || p > self.pitch.1 {
            return Err(Problem::NotFacing);
        }
        Ok(())
    }

    /// Checks the aligned face's pixels: light and sharpness.
    pub fn picture(&self, chip: &Chip) -> Result<(), Problem> {
        let b = chip.brightness();
        if b < self.brightness.0 {
            return Err(Problem::TooDark);
        }
        if b > self.brightness.1 {
            return Err(Problem::TooBright);
        }
        if chip.sharpness() < self.min_sharpness {
            return Err(Problem::Blurred);
        }
        Ok(())
    }
}
