//! How WebKitGTK draws pages: GPU compositing (`[display] compositing`).
//!
//! WebKitGTK composites pages with OpenGL by default. Where the machine has no GPU (a virtual
//! machine, a kiosk PC without a GPU driver, Xvfb), Mesa runs that OpenGL on the CPU (llvmpipe):
//! slower than drawing without compositing, and on the benchmark machine it cost the web process
//! about 70 MB PSS (README, Performance). `auto` therefore turns compositing off when there is no
//! GPU render node (`/dev/dri/renderD*`) and leaves WebKit's default otherwise; `on` and `off`
//! decide. WebKit reads the choice from the environment (`WEBKIT_DISABLE_COMPOSITING_MODE`), which
//! its web processes inherit; an operator's own setting of that variable is kept.
//!
//! Without compositing Booth's own process draws nothing with OpenGL: the web process paints
//! and Booth's window shows its pictures. WebKit still opens an EGL display there, which loads
//! Mesa and with it libLLVM: about 70 MB resident in Booth's process on the benchmark machine
//! (README, Performance). So when compositing is off Booth starts libglvnd's EGL in its own
//! process with no vendor library before any window exists, and takes the setting back out of
//! the environment so the web processes (which need EGL to paint) start with the usual drivers;
//! and it tells GDK not to use GL (`GDK_GL=disable`), whose GLX query at start-up would load
//! Mesa all the same.

use crate::config::Compositing;

/// What Booth decided and why, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub compositing: bool,
    pub why: &'static str,
}

/// The decision for `setting` on a machine with (or without) a GPU render node.
pub fn decide(setting: Compositing, env_set: bool, gpu: bool) -> Decision {
    match setting {
        _ if env_set => Decision { compositing: false, why: "WEBKIT_DISABLE_COMPOSITING_MODE is set" },
        Compositing::On => Decision { compositing: true, why: "[display] compositing = \"on\"" },
        Compositing::Off => Decision { compositing: false, why: "[display] compositing = \"off\"" },
        Compositing::Auto if gpu => Decision { compositing: true, why: "a GPU render node is present" },
        Compositing::Auto => Decision { compositing: false, why: "no GPU render node (/dev/dri/renderD*)" },
    }
}

/// Whether the machine has a GPU render node.
fn gpu_render_node() -> bool {
    std::fs::read_dir("/dev/dri")
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false)
}

/// Applies `[display] compositing`. Call before any window exists and before other threads
/// start (it sets an environment variable).
pub fn apply(setting: Compositing) -> Decision {
    if !cfg!(target_os = "linux") {
        return Decision { compositing: true, why: "not WebKitGTK" };
    }
    let env_set = std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some();
    let d = decide(setting, env_set, gpu_render_node());
    if !d.compositing && !env_set {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    #[cfg(target_os = "linux")]
    if !d.compositing {
        keep_mesa_out_of_this_process();
    }
    d
}

/// libglvnd's list of EGL vendor libraries, read once per process at its first EGL call.
#[cfg(target_os = "linux")]
const EGL_VENDORS: &str = "__EGL_VENDOR_LIBRARY_FILENAMES";

/// Keeps Mesa out of Booth's own process (see the module's comment). An operator's own GDK_GL
/// or EGL vendor setting is kept; without libEGL there is nothing to keep out.
#[cfg(target_os = "linux")]
fn keep_mesa_out_of_this_process() {
    // GDK asks GLX about the server when it opens the X display (to pick visuals for GL), and
    // glvnd answers by loading Mesa's GLX driver: swrast and libLLVM again, beside EGL. Measured
    // on the benchmark machine: Booth's process 207 → 155 MB RSS, 108 → 90 MB PSS without it.
    // The web processes inherit the setting and lose nothing by it: they paint through WebKit's
    // own EGL display, never through GDK's GL.
    if std::env::var_os("GDK_GL").is_none() {
        std::env::set_var("GDK_GL", "disable");
    }
    if std::env::var_os(EGL_VENDORS).is_some() || std::env::var_os("__EGL_VENDOR_LIBRARY_DIRS").is_some() {
        return;
    }
    std::env::set_var(EGL_VENDORS, "/nonexistent/booth-no-egl-in-the-ui-process.json");
    // SAFETY: dlopen/dlsym with constant names; eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS) is
    // valid without a display and returns a static string (or null), which is not kept.
    unsafe {
        let lib = libc::dlopen(c"libEGL.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        let query = if lib.is_null() { std::ptr::null_mut() } else { libc::dlsym(lib, c"eglQueryString".as_ptr()) };
        if !query.is_null() {
            type QueryString = unsafe extern "C" fn(*mut libc::c_void, i32) -> *const libc::c_char;
            const EGL_EXTENSIONS: i32 = 0x3055;
            let query = std::mem::transmute::<*mut libc::c_void, QueryString>(query);
            query(std::ptr::null_mut(), EGL_EXTENSIONS);
        }
    }
    std::env::remove_var(EGL_VENDORS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_gpu_and_explicit_settings_win() {
        assert!(decide(Compositing::Auto, false, true).compositing);
        assert!(!decide(Compositing::Auto, false, false).compositing);
        assert!(decide(Compositing::On, false, false).compositing);
        assert!(!decide(Compositing::Off, false, true).compositing);
        let env = decide(Compositing::On, true, true);
        assert!(!env.compositing && env.why.contains("WEBKIT_DISABLE_COMPOSITING_MODE"));
    }
}
