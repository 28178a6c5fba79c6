//! The sources behind each backend, and the `file` source: a folder of frames played in a loop.

use crate::{sim, Backend, CameraConfig, Frame, Source};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The source for a configuration (`None` for `Backend::None`).
pub fn make(cfg: &CameraConfig, sim: Option<Arc<sim::SimCamera>>) -> Option<Box<dyn Source>> {
    match &cfg.backend {
        Backend::None => None,
        Backend::Sim => sim.map(|s| Box::new(sim::SimSource::new(s, cfg.fps)) as Box<dyn Source>),
        Backend::File(path) if is_video(path) => video(cfg, path),
        Backend::File(path) => Some(Box::new(FolderSource::new(path.clone(), cfg.fps))),
        Backend::Device(name) => device(cfg, name),
    }
}

fn is_video(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    matches!(ext.as_str(), "mp4" | "mkv" | "webm" | "avi" | "mov" | "mjpeg" | "mjpg" | "ogv")
}

#[cfg(target_os = "linux")]
fn video(cfg: &CameraConfig, path: &Path) -> Option<Box<dyn Source>> {
    Some(Box::new(crate::gst::GstSource::file(cfg, path)))
}

#[cfg(windows)]
fn video(cfg: &CameraConfig, path: &Path) -> Option<Box<dyn Source>> {
    Some(Box::new(crate::mf::MfSource::file(cfg, path)))
}

#[cfg(not(any(target_os = "linux", windows)))]
fn video(_cfg: &CameraConfig, path: &Path) -> Option<Box<dyn Source>> {
    Some(Box::new(Failing(format!("{}: video files are not supported on this system", path.display()))))
}

#[cfg(target_os = "linux")]
fn device(cfg: &CameraConfig, name: &str) -> Option<Box<dyn Source>> {
    Some(Box::new(crate::gst::GstSource::device(cfg, name)))
}

#[cfg(windows)]
fn device(cfg: &CameraConfig, name: &str) -> Option<Box<dyn Source>> {
    Some(Box::new(crate::mf::MfSource::device(cfg, name)))
}

#[cfg(not(any(target_os = "linux", windows)))]
fn device(_cfg: &CameraConfig, _name: &str) -> Option<Box<dyn Source>> {
    Some(Box::new(Failing("cameras are not supported on this system".into())))
}

#[cfg(not(any(target_os = "linux", windows)))]
struct Failing(String);

#[cfg(not(any(target_os = "linux", windows)))]
impl Source for Failing {
    fn open(&mut self) -> Result<(), String> {
        Err(self.0.clone())
    }
    fn next(&mut self) -> Result<Frame, String> {
        Err(self.0.clone())
    }
}

/// Keeps a source to its frame rate.
pub(crate) struct Pacer {
    period: Duration,
    next: Option<Instant>,
}

impl Pacer {
    pub(crate) fn new(fps: u32) -> Pacer {
        Pacer { period: Duration::from_secs_f64(1.0 / fps.max(1) as f64), next: None }
    }

    /// Sleeps until the next frame is due.
    pub(crate) fn wait(&mut self) {
        let now = Instant::now();
        let due = self.next.unwrap_or(now);
        if due > now {
            std::thread::sleep(due - now);
        }
        // After a stall, start again from now rather than rushing to catch up.
        let base = if Instant::now() > due + self.period { Instant::now() } else { due };
        self.next = Some(base + self.period);
    }
}

/// A folder of JPEG/PNG frames, in name order, looped at the configured rate. The folder is
/// listed again at every loop and whenever a listed frame has gone, so frames can be replaced
/// while it plays; a folder that disappears (or holds no frames) is an unplugged camera.
pub struct FolderSource {
    dir: PathBuf,
    files: Vec<PathBuf>,
    index: usize,
    pacer: Pacer,
}

impl FolderSource {
    pub fn new(dir: PathBuf, fps: u32) -> FolderSource {
        FolderSource { dir, files: Vec::new(), index: 0, pacer: Pacer::new(fps) }
    }

    fn list(&mut self) -> Result<(), String> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
                matches!(ext.as_str(), "jpg" | "jpeg" | "png")
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("{}: no JPEG or PNG frames", self.dir.display()));
        }
        self.files = files;
        self.index = 0;
        Ok(())
    }
}

impl Source for FolderSource {
    fn open(&mut self) -> Result<(), String> {
        self.list()
    }

    fn next(&mut self) -> Result<Frame, String> {
        if self.index >= self.files.len() {
            self.list()?;
        }
        let path = self.files[self.index].clone();
        self.index += 1;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            // The folder's frames were replaced since it was listed (a listed frame is gone):
            // list it again and play the new frames; only a folder that is gone or empty, or a
            // frame that cannot be read just after listing, is an unplugged camera.
            Err(_) if self.dir.is_dir() => {
                self.list()?;
                let path = self.files[0].clone();
                self.index = 1;
                std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let frame = Frame::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        self.pacer.wait();
        Ok(frame)
    }
}

#[cfg(test)]
mod folder_tests {
    use super::*;

    #[test]
    fn frames_replaced_while_playing_are_played_and_a_gone_folder_is_unplugged() {
        let dir = std::env::temp_dir().join(format!("booth-folder-source-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..3 {
            std::fs::write(dir.join(format!("{i:04}.jpg")), Frame::filled(8, 8, [200, 0, 0]).to_jpeg(90)).unwrap();
        }
        let mut src = FolderSource::new(dir.clone(), 100);
        src.open().unwrap();
        assert!(src.next().is_ok());
        // Replaced by one frame of another name: the listed 0001.jpg is gone.
        for i in 0..3 {
            std::fs::remove_file(dir.join(format!("{i:04}.jpg"))).unwrap();
        }
        std::fs::write(dir.join("grey.jpg"), Frame::filled(8, 8, [120, 120, 120]).to_jpeg(90)).unwrap();
        let f = src.next().expect("the new frames play");
        assert!((f.rgb[0] as i32 - 120).abs() < 10, "{:?}", &f.rgb[..3]);
        assert!(src.next().is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(src.next().is_err(), "a folder that is gone is an unplugged camera");
    }
}
