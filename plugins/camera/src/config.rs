//! `[camera]` in booth.toml.

use crate::{Backend, CameraConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[camera]` as written in booth.toml.
///
/// ```toml
/// [camera]
/// backend = "device"   # device | file | sim | none
/// device = "USB Camera" # a part of the name `booth doctor` lists, an index (0, 1, …) or /dev/video0; "" = the first
/// path = ""            # backend file: a folder of JPEG/PNG frames or a video file, looped
/// width = 640
/// height = 480
/// fps = 15
/// rotation = 0         # clockwise: 0 | 90 | 180 | 270
/// mirror = false
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraSection {
    pub backend: String,
    pub device: String,
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub rotation: u16,
    pub mirror: bool,
}

impl Default for CameraSection {
    fn default() -> Self {
        CameraSection {
            backend: "none".into(),
            device: String::new(),
            path: String::new(),
            width: 640,
            height: 480,
            fps: 15,
            rotation: 0,
            mirror: false,
        }
    }
}

impl CameraSection {
    /// Checks the values and builds the camera's configuration; `sim` replaces the backend by
    /// the simulator (`booth run --sim`).
    pub fn to_config(&self, sim: bool) -> Result<CameraConfig, String> {
        let backend = match self.backend.as_str() {
            _ if sim => Backend::Sim,
            "none" | "" => Backend::None,
            "device" => Backend::Device(self.device.trim().to_string()),
            "file" if self.path.trim().is_empty() => return Err("[camera] backend = \"file\" needs path".into()),
            "file" => Backend::File(PathBuf::from(self.path.trim())),
            "sim" => Backend::Sim,
            other => return Err(format!("[camera] backend: unknown `{other}` (device, file, sim or none)")),
        };
        if !(16..=7680).contains(&self.width) || !(16..=4320).contains(&self.height) {
            return Err(format!("[camera] width/height: {}x{} is out of range", self.width, self.height));
        }
        if !(1..=60).contains(&self.fps) {
            return Err(format!("[camera] fps: {} is out of range (1-60)", self.fps));
        }
        if ![0, 90, 180, 270].contains(&self.rotation) {
            return Err(format!("[camera] rotation: {} (0, 90, 180 or 270)", self.rotation));
        }
        Ok(CameraConfig {
            backend,
            width: self.width,
            height: self.height,
            fps: self.fps,
            rotation: self.rotation,
            mirror: self.mirror,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks() {
        let c = CameraSection::default().to_config(false).unwrap();
        assert_eq!(c.backend, Backend::None);
        let s = CameraSection { backend: "file".into(), path: "/tmp/frames".into(), ..Default::default() };
        assert_eq!(s.to_config(false).unwrap().backend, Backend::File("/tmp/frames".into()));
        assert_eq!(s.to_config(true).unwrap().backend, Backend::Sim);
        for bad in [
            CameraSection { backend: "file".into(), ..Default::default() },
            CameraSection { backend: "usb".into(), ..Default::default() },
            CameraSection { rotation: 45, ..Default::default() },
            CameraSection { fps: 0, ..Default::default() },
            CameraSection { width: 0, ..Default::default() },
        ] {
            assert!(bad.to_config(false).is_err(), "{bad:?}");
        }
    }
}
