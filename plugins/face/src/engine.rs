//! The engine: the detector and the embedder loaded together, and what one frame yields.

use crate::detect::{Detection, Detector};
use crate::embed::{align, Chip, Embedder, Embedding};
use crate::models::{Model, DETECTOR_FILE, EMBEDDER_FILE};
use crate::FaceError;
use booth_camera::Frame;
use std::path::Path;

pub struct Engine {
    pub detector: Detector,
    pub embedder: Embedder,
}

/// A face found in a frame, with what the quality gates look at.
pub struct Face {
    pub detection: Detection,
    pub chip: Chip,
}

impl Engine {
    /// Loads both models from `models_dir` (about 50–150 ms).
    pub fn load(models_dir: &Path) -> Result<Engine, FaceError> {
        let detector = Detector::new(Model::load(models_dir, DETECTOR_FILE, 1)?);
        let embedder = Embedder::new(Model::load(models_dir, EMBEDDER_FILE, 1)?);
        Ok(Engine { detector, embedder })
    }

    pub fn detect(&self, frame: &Frame) -> Result<Vec<Detection>, FaceError> {
        self.detector.detect(frame)
    }

    /// Every face in the frame, aligned.
    pub fn faces(&self, frame: &Frame) -> Result<Vec<Face>, FaceError> {
        Ok(self.detect(frame)?.into_iter().map(|d| Face { chip: align(frame, &d), detection: d }).collect())
    }

    pub fn embed(&self, face: &Face) -> Result<Embedding, FaceError> {
        self.embedder.embed(&face.chip)
    }

    /// The one face of a photo (an ID photo, an enrolment picture): the largest one.
    pub fn embed_photo(&self, frame: &Frame) -> Result<Embedding, FaceError> {
        let faces = self.faces(frame)?;
        let face = faces
            .into_iter()
            .max_by(|a, b| (a.detection.w * a.detection.h).total_cmp(&(b.detection.w * b.detection.h)))
            .ok_or(FaceError::NoFaceInPhoto)?;
        self.embed(&face)
    }
}
