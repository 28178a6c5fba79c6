//! Windows side of the lock-down (see `lockdown`): the low-level keyboard hook, the taskbar,
//! the accessibility hotkeys and toast notifications.

use super::rules::{KeyFilter, Status};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use windows::core::{w, BOOL, PCWSTR};
use windows::Win32::Foundation::{CloseHandle, HWND, LPARAM, LRESULT, STILL_ACTIVE, WPARAM};
use windows::Win32::System::LibraryLoader::GetModuleHandleW;
use windows::Win32::System::Registry::{
    RegDeleteKeyValueW, RegGetValueW, RegSetKeyValueW, HKEY_CURRENT_USER, REG_DWORD, RRF_RT_REG_DWORD,
};
use windows::Win32::System::Threading::{
    GetCurrentThreadId, GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
};
use windows::Win32::UI::Accessibility::{FILTERKEYS, STICKYKEYS, STICKYKEYS_FLAGS, TOGGLEKEYS};
use windows::Win32::UI::Input::KeyboardAndMouse::{GetAsyncKeyState, VK_CONTROL};
use windows::Win32::UI::WindowsAndMessaging::{
    CallNextHookEx, DispatchMessageW, EnumWindows, FindWindowExW, GetClassNameW, GetMessageW, PeekMessageW,
    PostThreadMessageW, SetWindowsHookExW, ShowWindow, SystemParametersInfoW, TranslateMessage, UnhookWindowsHookEx,
    HC_ACTION, KBDLLHOOKSTRUCT, LLKHF_ALTDOWN, MSG, PM_NOREMOVE, SPI_GETFILTERKEYS, SPI_GETSTICKYKEYS,
    SPI_GETTOGGLEKEYS, SPI_SETFILTERKEYS, SPI_SETSTICKYKEYS, SPI_SETTOGGLEKEYS, SW_HIDE, SW_SHOW,
    SYSTEM_PARAMETERS_INFO_UPDATE_FLAGS, WH_KEYBOARD_LL, WM_KEYDOWN, WM_QUIT, WM_SYSKEYDOWN,
};

/// The hook procedure's state: one hook per process.
static FILTER: Mutex<Option<KeyFilter>> = Mutex::new(None);
static HOOKED: AtomicBool = AtomicBool::new(false);

unsafe extern "system" fn keyboard_proc(code: i32, wparam: WPARAM, lparam: LPARAM) -> LRESULT {
    if code == HC_ACTION as i32 {
        // SAFETY: for WH_KEYBOARD_LL with HC_ACTION, lParam points to a KBDLLHOOKSTRUCT.
        let info = unsafe { &*(lparam.0 as *const KBDLLHOOKSTRUCT) };
        let down = matches!(wparam.0 as u32, WM_KEYDOWN | WM_SYSKEYDOWN);
        let alt = info.flags.0 & LLKHF_ALTDOWN.0 != 0;
        // SAFETY: plain state query.
        let ctrl = unsafe { GetAsyncKeyState(VK_CONTROL.0 as i32) } < 0;
        let swallow = FILTER
            .lock()
            .map(|mut f| f.get_or_insert_with(KeyFilter::default).swallow(info.vkCode, down, alt, ctrl))
            .unwrap_or(false);
        if swallow {
            return LRESULT(1);
        }
    }
    // SAFETY: passing the event on unchanged.
    unsafe { CallNextHookEx(None, code, wparam, lparam) }
}

/// The low-level keyboard hook, on its own thread with a message loop (Windows calls the hook
/// procedure on the installing thread, which must keep pumping messages).
pub struct KeyHook {
    thread_id: u32,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KeyHook {
    pub fn start() -> Result<KeyHook, Status> {
        if HOOKED.swap(true, Ordering::SeqCst) {
            return Err(Status::Failed("the keyboard hook is already installed".into()));
        }
        let (tx, rx) = std::sync::mpsc::channel::<Result<u32, String>>();
        let thread = std::thread::Builder::new()
            .name("kiosk keyboard hook".into())
            .spawn(move || {
                // SAFETY: Win32 calls on this thread; the hook is removed before the thread ends.
                unsafe {
                    let mut msg = MSG::default();
                    // Make sure this thread has a message queue before anyone posts WM_QUIT to it.
                    let _ = PeekMessageW(&mut msg, None, 0, 0, PM_NOREMOVE);
                    let module = GetModuleHandleW(None).ok().map(|m| m.into());
                    let hook = match SetWindowsHookExW(WH_KEYBOARD_LL, Some(keyboard_proc), module, 0) {
                        Ok(h) => h,
                        Err(e) => {
                            let _ = tx.send(Err(format!("SetWindowsHookExW: {e}")));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(GetCurrentThreadId()));
                    while GetMessageW(&mut msg, None, 0, 0).as_bool() {
                        let _ = TranslateMessage(&msg);
                        DispatchMessageW(&msg);
                    }
                    let _ = UnhookWindowsHookEx(hook);
                }
            })
            .map_err(|e| Status::Failed(format!("cannot start the hook thread: {e}")))?;
        match rx.recv() {
            Ok(Ok(thread_id)) => Ok(KeyHook { thread_id, thread: Some(thread) }),
            Ok(Err(e)) => {
                HOOKED.store(false, Ordering::SeqCst);
                Err(Status::Failed(e))
            }
            Err(_) => {
                HOOKED.store(false, Ordering::SeqCst);
                Err(Status::Failed("the hook thread ended early".into()))
            }
        }
    }
}

impl Drop for KeyHook {
    fn drop(&mut self) {
        // SAFETY: posting to a thread of this process; it ends its loop and unhooks.
        let _ = unsafe { PostThreadMessageW(self.thread_id, WM_QUIT, WPARAM(0), LPARAM(0)) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(mut f) = FILTER.lock() {
            *f = None;
        }
        HOOKED.store(false, Ordering::SeqCst);
    }
}

fn class_name(hwnd: HWND) -> String {
    let mut buf = [0u16; 64];
    // SAFETY: the buffer is sized by the slice.
    let len = unsafe { GetClassNameW(hwnd, &mut buf) };
    String::from_utf16_lossy(&buf[..len.max(0) as usize])
}

unsafe extern "system" fn collect_taskbars(hwnd: HWND, lparam: LPARAM) -> BOOL {
    // SAFETY: lparam is the &mut Vec<HWND> handed to EnumWindows below, alive during the call.
    let found = unsafe { &mut *(lparam.0 as *mut Vec<HWND>) };
    if matches!(class_name(hwnd).as_str(), "Shell_TrayWnd" | "Shell_SecondaryTrayWnd") {
        found.push(hwnd);
    }
    BOOL(1)
}

/// The taskbar windows: the main one, one per further monitor, and (Windows 7) the Start button,
/// which is a top-level window of its own there.
fn taskbar_windows() -> Vec<HWND> {
    let mut found: Vec<HWND> = Vec::new();
    // SAFETY: the callback only pushes into `found`, which outlives the call.
    unsafe {
        let _ = EnumWindows(Some(collect_taskbars), LPARAM(&mut found as *mut Vec<HWND> as isize));
        if let Ok(start) = FindWindowExW(None, None, w!("Button"), w!("Start")) {
            found.push(start);
        }
    }
    found
}

pub fn set_taskbar_visible(visible: bool) -> Status {
    let windows = taskbar_windows();
    if windows.is_empty() {
        return Status::Unsupported("no taskbar window (Explorer is not the shell, e.g. under Shell Launcher)".into());
    }
    for hwnd in windows {
        // SAFETY: hwnd came from EnumWindows / FindWindowExW; ShowWindow tolerates a stale handle.
        let _ = unsafe { ShowWindow(hwnd, if visible { SW_SHOW } else { SW_HIDE }) };
    }
    Status::Done
}

/// Sticky, Filter and Toggle Keys `dwFlags`.
pub fn accessibility_flags() -> Result<[u32; 3], Status> {
    let mut sticky = STICKYKEYS { cbSize: std::mem::size_of::<STICKYKEYS>() as u32, ..Default::default() };
    let mut filter = FILTERKEYS { cbSize: std::mem::size_of::<FILTERKEYS>() as u32, ..Default::default() };
    let mut toggle = TOGGLEKEYS { cbSize: std::mem::size_of::<TOGGLEKEYS>() as u32, ..Default::default() };
    let flags = SYSTEM_PARAMETERS_INFO_UPDATE_FLAGS(0);
    // SAFETY: each struct is sized in cbSize and passed with its size.
    unsafe {
        SystemParametersInfoW(SPI_GETSTICKYKEYS, sticky.cbSize, Some(&mut sticky as *mut _ as *mut _), flags)
            .and_then(|_| {
                SystemParametersInfoW(SPI_GETFILTERKEYS, filter.cbSize, Some(&mut filter as *mut _ as *mut _), flags)
            })
            .and_then(|_| {
                SystemParametersInfoW(SPI_GETTOGGLEKEYS, toggle.cbSize, Some(&mut toggle as *mut _ as *mut _), flags)
            })
            .map_err(|e| Status::Failed(format!("SystemParametersInfo: {e}")))?;
    }
    Ok([sticky.dwFlags.0, filter.dwFlags, toggle.dwFlags])
}

/// Sets the three `dwFlags` for this session only (not written to the user profile), so a power
/// cut also brings the user's own settings back.
pub fn set_accessibility_flags(flags: [u32; 3]) -> Status {
    let mut sticky = STICKYKEYS { cbSize: std::mem::size_of::<STICKYKEYS>() as u32, ..Default::default() };
    let mut filter = FILTERKEYS { cbSize: std::mem::size_of::<FILTERKEYS>() as u32, ..Default::default() };
    let mut toggle = TOGGLEKEYS { cbSize: std::mem::size_of::<TOGGLEKEYS>() as u32, ..Default::default() };
    // Read first so the other FILTERKEYS timings stay as they are.
    // SAFETY: as in accessibility_flags.
    let read = unsafe {
        SystemParametersInfoW(
            SPI_GETFILTERKEYS,
            filter.cbSize,
            Some(&mut filter as *mut _ as *mut _),
            SYSTEM_PARAMETERS_INFO_UPDATE_FLAGS(0),
        )
    };
    if let Err(e) = read {
        return Status::Failed(format!("SystemParametersInfo: {e}"));
    }
    sticky.dwFlags = STICKYKEYS_FLAGS(flags[0]);
    filter.dwFlags = flags[1];
    toggle.dwFlags = flags[2];
    let none = SYSTEM_PARAMETERS_INFO_UPDATE_FLAGS(0);
    // SAFETY: each struct is sized in cbSize and passed with its size.
    let result = unsafe {
        SystemParametersInfoW(SPI_SETSTICKYKEYS, sticky.cbSize, Some(&mut sticky as *mut _ as *mut _), none)
            .and_then(|_| {
                SystemParametersInfoW(SPI_SETFILTERKEYS, filter.cbSize, Some(&mut filter as *mut _ as *mut _), none)
            })
            .and_then(|_| {
                SystemParametersInfoW(SPI_SETTOGGLEKEYS, toggle.cbSize, Some(&mut toggle as *mut _ as *mut _), none)
            })
    };
    match result {
        Ok(()) => Status::Done,
        Err(e) => Status::Failed(format!("SystemParametersInfo: {e}")),
    }
}

const PUSH_KEY: PCWSTR = w!("Software\\Microsoft\\Windows\\CurrentVersion\\PushNotifications");
const TOAST_VALUE: PCWSTR = w!("ToastEnabled");

/// `ToastEnabled` as text ("0" / "1"), or `None` when the value is not set (Windows' default: on).
pub fn notifications_setting() -> Result<Option<String>, Status> {
    let mut data: u32 = 0;
    let mut size = std::mem::size_of::<u32>() as u32;
    // SAFETY: a DWORD buffer with its size.
    let r = unsafe {
        RegGetValueW(
            HKEY_CURRENT_USER,
            PUSH_KEY,
            TOAST_VALUE,
            RRF_RT_REG_DWORD,
            None,
            Some(&mut data as *mut u32 as *mut _),
            Some(&mut size),
        )
    };
    match r.0 {
        0 => Ok(Some(data.to_string())),
        2 | 3 => Ok(None), // ERROR_FILE_NOT_FOUND / ERROR_PATH_NOT_FOUND: never set
        code => Err(Status::Failed(format!("reading ToastEnabled: Windows error {code}"))),
    }
}

fn set_toast(value: u32) -> Status {
    // SAFETY: a DWORD with its size.
    let r = unsafe {
        RegSetKeyValueW(
            HKEY_CURRENT_USER,
            PUSH_KEY,
            TOAST_VALUE,
            REG_DWORD.0,
            Some(&value as *const u32 as *const _),
            std::mem::size_of::<u32>() as u32,
        )
    };
    match r.0 {
        0 => Status::Done,
        code => Status::Failed(format!("writing ToastEnabled: Windows error {code}")),
    }
}

pub fn set_notifications(enabled: bool) -> Status {
    set_toast(u32::from(enabled))
}

pub fn restore_notifications(before: Option<&str>) -> Status {
    match before.and_then(|v| v.parse::<u32>().ok()) {
        Some(v) => set_toast(v),
        None => {
            // SAFETY: plain registry call with static strings.
            let r = unsafe { RegDeleteKeyValueW(HKEY_CURRENT_USER, PUSH_KEY, TOAST_VALUE) };
            match r.0 {
                0 | 2 | 3 => Status::Done,
                code => Status::Failed(format!("removing ToastEnabled: Windows error {code}")),
            }
        }
    }
}

pub fn process_alive(pid: u32) -> bool {
    // SAFETY: the handle is closed before returning.
    unsafe {
        let Ok(handle) = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid) else {
            return false;
        };
        let mut code = 0u32;
        let alive = GetExitCodeProcess(handle, &mut code).is_ok() && code == STILL_ACTIVE.0 as u32;
        let _ = CloseHandle(handle);
        alive
    }
}
