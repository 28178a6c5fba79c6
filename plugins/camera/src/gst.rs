//! Cameras and video files through GStreamer (Linux): `v4l2src` for a camera, `filesrc` +
//! `decodebin` for a video, then `videoconvert ! videoscale ! videorate` to RGB at the configured
//! size and rate, into an `appsink`. GStreamer is also what the WebRTC and recording work builds
//! on, so one pipeline can later feed them too.

use crate::{CameraConfig, Frame, Source};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::path::{Path, PathBuf};

enum Input {
    /// A name part, an index or a device path; empty = the first camera.
    Device(String),
    File(PathBuf),
}

pub struct GstSource {
    input: Input,
    width: u32,
    height: u32,
    fps: u32,
    running: Option<(gst::Pipeline, gst_app::AppSink)>,
}

fn init() -> Result<(), String> {
    gst::init().map_err(|e| format!("GStreamer: {e}"))
}

/// Camera names as GStreamer's device monitor lists them (`Video/Source`), in its order.
pub fn list_devices() -> Result<Vec<String>, String> {
    Ok(devices()?.into_iter().map(|(name, _)| name).collect())
}

/// (display name, device path) of every camera.
fn devices() -> Result<Vec<(String, Option<String>)>, String> {
    init()?;
    let monitor = gst::DeviceMonitor::new();
    monitor.add_filter(Some("Video/Source"), None);
    monitor.start().map_err(|e| format!("GStreamer device monitor: {e}"))?;
    let list = monitor
        .devices()
        .iter()
        .map(|d| {
            let path = d
                .properties()
                .and_then(|p| p.get::<String>("api.v4l2.path").ok().or_else(|| p.get::<String>("device.path").ok()));
            (d.display_name().to_string(), path)
        })
        .collect();
    monitor.stop();
    Ok(list)
}

/// The device path for `[camera] device`.
fn resolve(device: &str) -> Result<String, String> {
    if device.starts_with('/') {
        return if Path::new(device).exists() {
            Ok(device.to_string())
        } else {
            Err(format!("{device}: 没有这个设备"))
        };
    }
    let list = devices()?;
    let found = if device.is_empty() {
        list.first()
    } else if let Ok(i) = device.parse::<usize>() {
        list.get(i)
    } else {
        let want = device.to_lowercase();
        list.iter().find(|(name, _)| name.to_lowercase().contains(&want))
    };
    match found {
        Some((_, Some(path))) => Ok(path.clone()),
        Some((name, None)) => Err(format!("{name}: no device path")),
        None if list.is_empty() => Err("没有找到摄像头".into()),
        None => Err(format!(
            "没有找到摄像头 `{device}` (有: {})",
            list.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

impl GstSource {
    pub fn device(cfg: &CameraConfig, device: &str) -> GstSource {
        GstSource::new(cfg, Input::Device(device.to_string()))
    }

    pub fn file(cfg: &CameraConfig, path: &Path) -> GstSource {
        GstSource::new(cfg, Input::File(path.to_path_buf()))
    }

    fn new(cfg: &CameraConfig, input: Input) -> GstSource {
        GstSource { input, width: cfg.width, height: cfg.height, fps: cfg.fps, running: None }
    }

    fn describe(&self) -> Result<String, String> {
        let tail = format!(
            "videoconvert ! videoscale ! videorate ! video/x-raw,format=RGB,width={},height={},framerate={}/1,pixel-aspect-ratio=1/1 \
             ! appsink name=sink max-buffers=2 drop=true",
            self.width, self.height, self.fps
        );
        Ok(match &self.input {
            Input::Device(d) => format!("v4l2src device={} ! decodebin ! {tail}", quote(&resolve(d)?)),
            Input::File(p) => {
                if !p.is_file() {
                    return Err(format!("{}: 文件不存在", p.display()));
                }
                format!("filesrc location={} ! decodebin ! {tail}", quote(&p.display().to_string()))
            }
        })
    }

    fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
        let bus = pipeline.bus()?;
        bus.pop_filtered(&[gst::MessageType::Error]).and_then(|m| match m.view() {
            gst::MessageView::Error(e) => Some(e.error().to_string()),
            _ => None,
        })
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Source for GstSource {
    fn open(&mut self) -> Result<(), String> {
        init()?;
        self.close();
        let desc = self.describe()?;
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| format!("GStreamer: {e}"))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| "GStreamer: not a pipeline".to_string())?;
        let sink = pipeline
            .by_name("sink")
            .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| "GStreamer: no appsink".to_string())?;
        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            let detail = GstSource::bus_error(&pipeline).unwrap_or_else(|| e.to_string());
            let _ = pipeline.set_state(gst::State::Null);
            return Err(detail);
        }
        self.running = Some((pipeline, sink));
        Ok(())
    }

    fn next(&mut self) -> Result<Frame, String> {
        if let Input::File(p) = &self.input {
            // A deleted file stays readable while it is open: treat it as an unplugged camera.
            if !p.exists() {
                return Err(format!("{}: 文件已被移除", p.display()));
            }
        }
        let Some((pipeline, sink)) = &self.running else { return Err("not open".into()) };
        for _ in 0..2 {
            match sink.try_pull_sample(gst::ClockTime::from_seconds(5)) {
                Some(sample) => return to_frame(&sample),
                None if sink.is_eos() && matches!(self.input, Input::File(_)) => {
                    // Loop the video.
                    pipeline
                        .seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT, gst::ClockTime::ZERO)
                        .map_err(|e| format!("GStreamer seek: {e}"))?;
                }
                None => {
                    return Err(GstSource::bus_error(pipeline).unwrap_or_else(|| "摄像头 5 秒没有画面".to_string()));
                }
            }
        }
        Err("GStreamer: the video has no frames".into())
    }

    fn close(&mut self) {
        if let Some((pipeline, _)) = self.running.take() {
            let _ = pipeline.set_state(gst::State::Null);
        }
    }
}

impl Drop for GstSource {
    fn drop(&mut self) {
        self.close();
    }
}

fn to_frame(sample: &gst::Sample) -> Result<Frame, String> {
    let caps = sample.caps().ok_or("GStreamer: sample without caps")?;
    let info = gstreamer_video::VideoInfo::from_caps(caps).map_err(|e| format!("GStreamer caps: {e}"))?;
    let buffer = sample.buffer().ok_or("GStreamer: sample without buffer")?;
    let map = buffer.map_readable().map_err(|e| format!("GStreamer map: {e}"))?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let stride = info.stride()[0] as usize;
    if stride < w * 3 || map.len() < stride * (h - 1) + w * 3 {
        return Err("GStreamer: short buffer".into());
    }
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        rgb.extend_from_slice(&map[row * stride..row * stride + w * 3]);
    }
    Ok(Frame::new(w as u32, h as u32, rgb))
}
