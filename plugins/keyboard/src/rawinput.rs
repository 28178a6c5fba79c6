//! Windows: Raw Input on a message-only window, for one keyboard device.

use crate::{names, DeviceSpec, Health, KeyEvent, Stop};
use std::sync::Arc;
use windows::core::w;
use windows::Win32::Foundation::{HANDLE, HWND, LPARAM, LRESULT, WPARAM};
use windows::Win32::System::LibraryLoader::GetModuleHandleW;
use windows::Win32::UI::Input::{
    GetRawInputData, GetRawInputDeviceInfoW, GetRawInputDeviceList, RegisterRawInputDevices, HRAWINPUT, RAWINPUT,
    RAWINPUTDEVICE, RAWINPUTDEVICELIST, RAWINPUTHEADER, RIDEV_DEVNOTIFY, RIDEV_INPUTSINK, RIDI_DEVICENAME, RID_INPUT,
    RIM_TYPEKEYBOARD,
};
use windows::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DefWindowProcW, DispatchMessageW, GetMessageW, RegisterClassW, HWND_MESSAGE, MSG, WINDOW_EX_STYLE,
    WINDOW_STYLE, WM_INPUT, WM_INPUT_DEVICE_CHANGE, WNDCLASSW,
};

const RI_KEY_BREAK: u16 = 1;
const RI_KEY_E0: u16 = 2;
/// Generic desktop page, keyboard usage.
const USAGE_PAGE: u16 = 0x01;
const USAGE_KEYBOARD: u16 = 0x06;

unsafe extern "system" fn wndproc(hwnd: HWND, msg: u32, wparam: WPARAM, lparam: LPARAM) -> LRESULT {
    // SAFETY: forwarding the message unchanged to the default procedure.
    unsafe { DefWindowProcW(hwnd, msg, wparam, lparam) }
}

/// The device interface path of a raw input device.
fn device_name(device: HANDLE) -> Option<String> {
    let mut len: u32 = 0;
    // SAFETY: the first call only asks for the length; the second writes at most `len` u16s.
    unsafe {
        GetRawInputDeviceInfoW(Some(device), RIDI_DEVICENAME, None, &mut len);
        if len == 0 || len > 4096 {
            return None;
        }
        let mut buf = vec![0u16; len as usize];
        let got = GetRawInputDeviceInfoW(Some(device), RIDI_DEVICENAME, Some(buf.as_mut_ptr().cast()), &mut len);
        if got == u32::MAX {
            return None;
        }
        let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
        Some(String::from_utf16_lossy(&buf[..end]))
    }
}

fn matches(spec: &DeviceSpec, name: &str) -> bool {
    name.to_ascii_lowercase().contains(&spec.0.to_ascii_lowercase())
}

/// The connected keyboard whose interface path matches, if any.
fn find(spec: &DeviceSpec) -> Option<String> {
    let mut count: u32 = 0;
    let size = std::mem::size_of::<RAWINPUTDEVICELIST>() as u32;
    // SAFETY: the first call asks for the count; the second fills at most `count` entries.
    unsafe {
        GetRawInputDeviceList(None, &mut count, size);
        let mut list = vec![RAWINPUTDEVICELIST::default(); count as usize];
        let got = GetRawInputDeviceList(Some(list.as_mut_ptr()), &mut count, size);
        if got == u32::MAX {
            return None;
        }
        list.truncate(got as usize);
        list.iter()
            .filter(|d| d.dwType == RIM_TYPEKEYBOARD)
            .filter_map(|d| device_name(d.hDevice))
            .find(|n| matches(spec, n))
    }
}

fn check(spec: &DeviceSpec, health: &Health) {
    match find(spec) {
        Some(name) => health.set(true, format!("{name} (Raw Input)")),
        None => health.set(false, format!("没有接口路径包含 \"{}\" 的键盘", spec.0)),
    }
}

pub(crate) fn spawn(
    spec: DeviceSpec,
    health: Arc<Health>,
    stop: Stop,
    mut on_key: impl FnMut(KeyEvent) + Send + 'static,
) {
    let spawned = std::thread::Builder::new().name(format!("rawinput {}", spec.0)).spawn(move || {
        // SAFETY: plain Win32 calls on this thread; the window and its class live as long as the
        // thread, and every buffer handed to Windows is sized as the calls require.
        unsafe {
            let instance = match GetModuleHandleW(None) {
                Ok(h) => h,
                Err(e) => return health.set(false, format!("GetModuleHandleW: {e}")),
            };
            let class = WNDCLASSW {
                lpfnWndProc: Some(wndproc),
                hInstance: instance.into(),
                lpszClassName: w!("BoothRawInput"),
                ..Default::default()
            };
            RegisterClassW(&class);
            let hwnd = match CreateWindowExW(
                WINDOW_EX_STYLE::default(),
                w!("BoothRawInput"),
                w!("Booth keyboard device"),
                WINDOW_STYLE::default(),
                0,
                0,
                0,
                0,
                Some(HWND_MESSAGE),
                None,
                Some(instance.into()),
                None,
            ) {
                Ok(h) => h,
                Err(e) => return health.set(false, format!("CreateWindowExW: {e}")),
            };
            let device = RAWINPUTDEVICE {
                usUsagePage: USAGE_PAGE,
                usUsage: USAGE_KEYBOARD,
                dwFlags: RIDEV_INPUTSINK | RIDEV_DEVNOTIFY,
                hwndTarget: hwnd,
            };
            if let Err(e) = RegisterRawInputDevices(&[device], std::mem::size_of::<RAWINPUTDEVICE>() as u32) {
                return health.set(false, format!("RegisterRawInputDevices: {e}"));
            }
            check(&spec, &health);
            let mut msg = MSG::default();
            let header = std::mem::size_of::<RAWINPUTHEADER>() as u32;
            let mut buf = vec![0u8; 1024];
            while !stop.stopped() && GetMessageW(&mut msg, None, 0, 0).as_bool() {
                if msg.message == WM_INPUT {
                    let mut size = buf.len() as u32;
                    let got = GetRawInputData(
                        HRAWINPUT(msg.lParam.0 as _),
                        RID_INPUT,
                        Some(buf.as_mut_ptr().cast()),
                        &mut size,
                        header,
                    );
                    if got != u32::MAX && got as usize >= std::mem::size_of::<RAWINPUT>() {
                        let raw = &*(buf.as_ptr() as *const RAWINPUT);
                        if raw.header.dwType == RIM_TYPEKEYBOARD.0
                            && device_name(raw.header.hDevice).is_some_and(|n| matches(&spec, &n))
                        {
                            let kb = raw.data.keyboard;
                            if let Some(code) = names::from_windows_vk(kb.VKey, kb.Flags & RI_KEY_E0 != 0) {
                                on_key(KeyEvent { code, down: kb.Flags & RI_KEY_BREAK == 0 });
                            }
                        }
                    }
                } else if msg.message == WM_INPUT_DEVICE_CHANGE {
                    check(&spec, &health);
                }
                DispatchMessageW(&msg);
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the Raw Input thread");
    }
}
