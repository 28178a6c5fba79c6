//! The injected runtime: `js/console.js` (page output to Booth's log) and `js/runtime.js` plus
//! its configuration, as one initialization script.

use booth_bridge::api::{names, Dialect, Kind};
use serde::Serialize;

/// The runtime's source, shipped inside the binary.
pub const RUNTIME_JS: &str = include_str!("../js/runtime.js");
/// ft.webrtc's streams and connections (`js/webrtc.js`), shipped inside the binary.
pub const WEBRTC_JS: &str = include_str!("../js/webrtc.js");
/// Page output forwarding, shipped inside the binary.
pub const CONSOLE_JS: &str = include_str!("../js/console.js");
/// Names Booth's own frames in page stack traces, so that forwarded output points at the page's
/// line and not at Booth's wrapper.
const SOURCE_URL: &str = "\n//# sourceURL=booth-runtime.js\n";

/// The script for windows that show Booth's own pages only (no bridge): page output forwarding.
pub fn console_script() -> String {
    format!("{CONSOLE_JS}\n;__boothConsole();{SOURCE_URL}")
}

/// Page keys and keyboard-wedge scans, shipped inside the binary.
pub const INPUTS_JS: &str = include_str!("../js/inputs.js");
/// The DOM operations of Booth's own screens over a page, taken before the page runs.
pub const DOM_JS: &str = include_str!("../js/dom.js");
/// The enterIDNumber keypad, shipped inside the binary.
pub const IDNUMBER_JS: &str = include_str!("../js/idnumber.js");
/// The face screen (initFace, getFaceInfo, getFaceInfoPersonCard, doStorageFaceInfo).
pub const FACE_JS: &str = include_str!("../js/face.js");
/// finOpenWitnessVideo's call screen.
pub const WITNESS_JS: &str = include_str!("../js/witness.js");

/// Booth's internal requests with the window's page key, shipped inside the binary.
pub const INTERNAL_JS: &str = include_str!("../js/internal.js");

/// What Booth's own scripts of one window send with their internal requests: the window's page
/// key (see `js/internal.js`) and Tauri's invoke key (Tauri's own `invoke` is not used for them).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InternalKeys {
    pub key: String,
    pub invoke_key: String,
}

/// Runs `body` with `post` (the keyed request function) in a closure of its own: a top-level
/// `var` of an initialization script would be a property of `window`, readable by the page.
fn with_post(keys: &InternalKeys, body: &str) -> String {
    let json = serde_json::to_string(keys).unwrap_or_else(|_| "{}".into());
    format!(
        "{INTERNAL_JS}
;(function () {{ var post = __boothInternal({json});
{body}
}})();
"
    )
}

/// What the page-side input script reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputsConfig {
    /// PC keys (`KeyboardEvent.code`) the page reports for registKeyBoard.
    pub keys: Vec<String>,
    /// Keyboard-wedge bursts, when the scanner takes them from the page.
    pub wedge: Option<WedgeConfig>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WedgeConfig {
    pub min_length: usize,
    pub max_gap_ms: u64,
}

/// A second initialization script for package pages: page keys and keyboard-wedge scans
/// (`js/inputs.js`), the enterIDNumber keypad (`js/idnumber.js`), the face screen (`js/face.js`)
/// and the witnessed call's screen (`js/witness.js`).
pub fn inputs_script(config: &InputsConfig, keys: &InternalKeys) -> String {
    let json = serde_json::to_string(config).unwrap_or_else(|_| "{}".into());
    let run = with_post(
        keys,
        &format!(
            "__boothInputs({json}, post);\nvar dom = __boothDom();\n__boothIdNumberKeypad(post, dom);\n__boothFaceScreen(post, dom);\n__boothWitnessScreen(post, dom);"
        ),
    );
    format!("{INPUTS_JS}\n{DOM_JS}\n{IDNUMBER_JS}\n{FACE_JS}\n{WITNESS_JS}\n{run}//# sourceURL=booth-inputs.js\n")
}

/// The shell script, shipped inside the binary.
pub const SHELL_JS: &str = include_str!("../js/shell.js");

/// What the shell script of a window does (`js/shell.js`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShellConfig {
    /// Lock the page down (kiosk mode).
    pub kiosk: bool,
    /// The administrator's gesture, on kiosks.
    pub admin: Option<AdminGesture>,
    /// At most one activity report per this many milliseconds (plus the last one).
    pub throttle_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminGesture {
    /// `top-left`, `top-right`, `bottom-left`, `bottom-right`.
    pub corner: String,
    pub taps: u32,
    pub window_ms: u64,
    pub px: u32,
}

/// The initialization script that reports input activity and heartbeats, shows the idle
/// warning and, on kiosks, blocks the ways out of the page.
pub fn shell_script(config: &ShellConfig, keys: &InternalKeys) -> String {
    let json = serde_json::to_string(config).unwrap_or_else(|_| "{}".into());
    let run = with_post(keys, &format!("__boothShell({json}, post);"));
    format!("{SHELL_JS}\n{run}//# sourceURL=booth-shell.js\n")
}

#[derive(Debug, Clone, Serialize)]
struct RuntimeConfig<'a> {
    dialects: Vec<Dialect>,
    package: &'a str,
    version: &'a str,
    /// Where remote packages' files start (the entry URL's folder, `https://host/app/`): a
    /// page path such as faceLogin's `relaunchUrl` is taken from there, not from the host's root.
    bases: Vec<String>,
    wxfaceapp: Names,
    ft: Names,
    /// Tauri's invoke key: the runtime sends a lone call as a message to Tauri's IPC handler,
    /// which takes it only with the key (see `send` in `js/runtime.js`).
    #[serde(rename = "invokeKey")]
    invoke_key: &'a str,
}

#[derive(Debug, Clone, Serialize)]
struct Names {
    calls: Vec<&'static str>,
    events: Vec<&'static str>,
}

fn names_of(d: Dialect) -> Names {
    Names { calls: names(d, Kind::Call), events: names(d, Kind::Event) }
}

/// The folder a remote package's files start from: the entry URL without its last segment,
/// query and fragment (`https://host/app/index.html` → `https://host/app/`).
pub fn package_root(entry: &url::Url) -> Option<url::Url> {
    let mut root = entry.join("./").ok()?;
    root.set_query(None);
    root.set_fragment(None);
    Some(root)
}

/// The initialization script for a page of `package_id`, defining only `dialects`. `remote`:
/// the entry URLs of the remote packages the window may show (page paths resolve inside them);
/// `invoke_key`: Tauri's (`AppHandle::invoke_key`).
pub fn init_script(
    dialects: &[Dialect],
    package_id: &str,
    booth_version: &str,
    remote: &[url::Url],
    invoke_key: &str,
) -> String {
    let mut dialects = dialects.to_vec();
    dialects.sort();
    dialects.dedup();
    let config = RuntimeConfig {
        dialects,
        package: package_id,
        version: booth_version,
        bases: remote.iter().filter_map(package_root).map(String::from).collect(),
        wxfaceapp: names_of(Dialect::Wxfaceapp),
        ft: names_of(Dialect::Ft),
        invoke_key,
    };
    // serde_json escapes everything that could end the script early except `</`, which does
    // not matter in an initialization script (it is never parsed as HTML).
    let json = serde_json::to_string(&config).unwrap_or_else(|_| "{}".into());
    format!(
        "{CONSOLE_JS}\n{DOM_JS}\n{RUNTIME_JS}\n{WEBRTC_JS}\n;__boothConsole();\n__boothRuntime({json}, __boothDom());{SOURCE_URL}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_carries_only_the_listed_dialects_and_every_name() {
        let s = init_script(&[Dialect::My, Dialect::Ft], "demo", "0.1.0", &[], "inv0ke");
        assert!(s.contains(r#""dialects":["my","ft"]"#), "{}", &s[s.len() - 400..]);
        for name in names(Dialect::Wxfaceapp, Kind::Call).into_iter().chain(names(Dialect::Wxfaceapp, Kind::Event)) {
            assert!(s.contains(&format!("\"{name}\"")), "{name}");
        }
        assert!(s.contains("\"webrtc.mediaDevices.getUserMedia\""));
        assert!(s.contains("__boothConsole();") && s.ends_with("//# sourceURL=booth-runtime.js\n"));
        // The invoke key is an argument of the runtime's call, never a global of the page.
        assert!(s.contains(r#""invokeKey":"inv0ke"}, __boothDom());"#), "{}", &s[s.len() - 200..]);
        assert_eq!(s.matches("inv0ke").count(), 1);
        assert!(console_script().contains("__boothConsole();") && !console_script().contains("__boothRuntime("));
    }

    /// The runtime's event transport under node, with Tauri's internals played by the test:
    /// batches taken apart in order, a message that comes early parked until the ones before
    /// it, repeats and non-arrays ignored, and a message that never comes given up after the
    /// wait so that the later ones go on (a late one after that is dropped).
    #[test]
    fn event_messages_are_taken_in_order_and_a_lost_one_does_not_hold_the_rest() {
        let config = config();
        let harness = format!(
            r#"'use strict';
globalThis.window = globalThis;
globalThis.location = {{ href: 'booth://localhost/index.html' }};
var callbacks = {{}}, ids = 0, channelId = null, warnings = [];
window.__TAURI_INTERNALS__ = {{
  transformCallback: function (cb) {{ var id = ++ids; callbacks[id] = cb; return id; }},
  invoke: function (cmd, args) {{
    if (cmd === 'booth_attach') {{ channelId = Number(args.events.toJSON().split(':')[1]); return Promise.resolve({{ session: 1 }}); }}
    return Promise.resolve({{}});
  }}
}};
var log = console.log;
console.warn = function (m) {{ warnings.push(String(m)); }};
{RUNTIME_JS}
__boothRuntime({config}, {{}});
var got = [];
my.on('initQRListener', function (r) {{ got.push(r.n); }});
function send(index, message) {{
  if (Array.isArray(message)) message = message.map(function (n) {{ return {{ dialect: 'my', name: 'initQRListener', body: {{ n: n }} }}; }});
  callbacks[channelId]({{ index: index, message: message }});
}}
setTimeout(function () {{
  send(0, [1, 2]);
  send(2, [5]);
  send(1, [3, 4]);
  send(1, [99]);
  send(3, 'not an array');
  send(5, [8]);
  send(6, [9]);
  var before = got.slice();
  setTimeout(function () {{
    send(4, [77]);
    send(7, [10]);
    log(JSON.stringify({{ before: before, after: got, warnings: warnings }}));
  }}, GAP_MS + 500);
}}, 50);
"#,
            config = serde_json::to_string(&config).unwrap(),
        )
        .replace("GAP_MS + 500", "3500");
        let r = node(&harness);
        assert_eq!(r["before"], serde_json::json!([1, 2, 3, 4, 5]), "{r}");
        assert_eq!(r["after"], serde_json::json!([1, 2, 3, 4, 5, 8, 9, 10]), "{r}");
        assert_eq!(r["warnings"].as_array().map(Vec::len), Some(1), "{r}");
        assert!(r["warnings"][0].as_str().is_some_and(|w| w.contains("4–4")), "{r}");
    }

    fn config() -> RuntimeConfig<'static> {
        RuntimeConfig {
            dialects: vec![Dialect::My],
            package: "demo",
            version: "0.1.0",
            bases: Vec::new(),
            wxfaceapp: names_of(Dialect::Wxfaceapp),
            ft: names_of(Dialect::Ft),
            invoke_key: "inv0ke",
        }
    }

    /// Runs a harness script under node; it prints one JSON line.
    fn node(harness: &str) -> serde_json::Value {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("harness.js");
        std::fs::write(&file, harness).unwrap();
        let out = std::process::Command::new("node")
            .arg(&file)
            .output()
            .expect("node (scripts/setup.sh installs it for the WebdriverIO tests)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// A lone call goes as a message to Tauri's IPC handler, with the invoke key and a callback
    /// pair that is gone once it answered; a call Tauri could not parse there (nesting past
    /// 100 levels), a large one, and one whose message the webview refuses go by fetch — each
    /// gets its one answer. Half a surrogate pair travels as U+FFFD.
    #[test]
    fn a_lone_call_goes_as_a_message_unless_tauri_could_not_read_it() {
        let harness = format!(
            r#"'use strict';
globalThis.window = globalThis;
globalThis.location = {{ href: 'booth://localhost/index.html' }};
var callbacks = new Map(), ids = 0, posted = [], fetched = [], refuse = false;
window.__TAURI_INTERNALS__ = {{
  transformCallback: function (cb, once) {{
    var id = ++ids;
    callbacks.set(id, function (d) {{ if (once) callbacks.delete(id); cb(d); }});
    return id;
  }},
  unregisterCallback: function (id) {{ callbacks.delete(id); }},
  invoke: function (cmd, args) {{
    if (cmd === 'booth_attach') return Promise.resolve({{ session: 1 }});
    var body = JSON.parse(new TextDecoder().decode(args));
    fetched.push(body.calls ? 'batch' : body.params.taskId);
    return Promise.resolve(body.calls ? body.calls.map(function (c) {{ return {{ ok: true, body: {{ taskId: c.params.taskId, via: 'fetch' }} }}; }})
      : {{ ok: true, body: {{ taskId: body.params.taskId, via: 'fetch' }} }});
  }}
}};
window.ipc = {{ postMessage: function (text) {{
  if (refuse) {{ refuse = false; throw new Error('no handler'); }}
  var m = JSON.parse(text);
  if (m.cmd !== 'booth_call' || m.__TAURI_INVOKE_KEY__ !== 'inv0ke' || m.payload.session !== 1) throw new Error('bad message ' + text);
  var p = m.payload.params;
  posted.push(p.taskId === 'surrogate' ? p.taskId + ':' + p.params.s.charCodeAt(0).toString(16) : p.taskId);
  setTimeout(function () {{
    if (m.payload.params.taskId === 'refused') window.__TAURI_INTERNALS__.runCallback(m.error, 'refused by Tauri');
    else window.__TAURI_INTERNALS__.runCallback(m.callback, {{ ok: true, body: {{ taskId: m.payload.params.taskId, via: 'post' }} }});
  }}, 1);
}} }};
window.__TAURI_INTERNALS__.runCallback = function (id, d) {{ callbacks.get(id)(d); }};
{RUNTIME_JS}
__boothRuntime({config}, {{}});
function nest(n) {{ var v = {{}}; for (var i = 0; i < n; i++) v = {{ a: v }}; return v; }}
function call(taskId, params) {{
  return new Promise(function (r) {{ my.call('ampeHHCommunication', {{ action: 'getDeviceInfo', taskId: taskId, params: params }}, r); }});
}}
(async function () {{
  var replies = [];
  replies.push(await call('first'));
  var kept = callbacks.size; // the page's event Channel
  replies.push(await call('plain', {{ text: '你好 "[{{' }}));
  replies.push(await call('deep-90', nest(90)));
  replies.push(await call('deep-150', nest(150)));
  replies.push(await call('surrogate', {{ s: '\ud800' }}));
  replies.push(await call('large', {{ s: 'x'.repeat(20000) }}));
  refuse = true;
  replies.push(await call('thrown'));
  replies.push(await call('refused'));
  console.log(JSON.stringify({{ posted: posted, fetched: fetched, left: callbacks.size - kept,
    replies: replies.map(function (r) {{ return r.via ? r.taskId + ':' + r.via : r.errorCode + ':' + r.message; }}) }}));
}})();
"#,
            config = serde_json::to_string(&config()).unwrap(),
        );
        let r = node(&harness);
        assert_eq!(r["posted"], serde_json::json!(["first", "plain", "deep-90", "surrogate:fffd", "refused"]), "{r}");
        assert_eq!(r["fetched"], serde_json::json!(["deep-150", "large", "thrown"]), "{r}");
        assert_eq!(r["left"], 0, "{r}");
        let replies = r["replies"].as_array().unwrap();
        assert_eq!(replies.len(), 8, "{r}");
        assert_eq!(replies[1], "plain:post", "{r}");
        assert_eq!(replies[3], "deep-150:fetch", "{r}");
        assert_eq!(replies[6], "thrown:fetch", "{r}");
        assert!(
            replies[7].as_str().unwrap().contains("INTERNAL:")
                && replies[7].as_str().unwrap().contains("refused by Tauri"),
            "{r}"
        );
    }

    #[test]
    fn a_remote_package_under_a_sub_path_starts_in_its_folder() {
        let root = |s: &str| package_root(&url::Url::parse(s).unwrap()).map(String::from);
        assert_eq!(root("https://host.example/app/index.html?x=1#top").as_deref(), Some("https://host.example/app/"));
        assert_eq!(root("https://host.example/app/").as_deref(), Some("https://host.example/app/"));
        assert_eq!(root("https://host.example/").as_deref(), Some("https://host.example/"));
        assert_eq!(root("http://127.0.0.1:8080/a/b/c.html").as_deref(), Some("http://127.0.0.1:8080/a/b/"));
        let s = init_script(
            &[Dialect::Wxfaceapp],
            "demo",
            "0.1.0",
            &[url::Url::parse("https://h.example/app/index.html").unwrap()],
            "inv0ke",
        );
        assert!(s.contains(r#""bases":["https://h.example/app/"]"#));
    }

    fn keys() -> InternalKeys {
        InternalKeys { key: "k3y".into(), invoke_key: "inv0ke".into() }
    }

    #[test]
    fn inputs_script_carries_keys_and_the_wedge_rule() {
        let s = inputs_script(
            &InputsConfig { keys: vec!["Numpad1".into()], wedge: Some(WedgeConfig { min_length: 4, max_gap_ms: 40 }) },
            &keys(),
        );
        assert!(
            s.contains(r#"__boothInputs({"keys":["Numpad1"],"wedge":{"minLength":4,"maxGapMs":40}}, post);"#),
            "{s}"
        );
        assert!(s.contains("var dom = __boothDom();\n__boothIdNumberKeypad(post, dom);"));
        assert!(s.contains("__boothFaceScreen(post, dom);"));
        assert!(s.contains("__boothWitnessScreen(post, dom);"));
        assert!(inputs_script(&InputsConfig::default(), &keys()).contains(r#""wedge":null"#));
    }

    #[test]
    fn the_page_key_stays_inside_a_closure() {
        for s in [inputs_script(&InputsConfig::default(), &keys()), shell_script(&ShellConfig::default(), &keys())] {
            let call = r#"(function () { var post = __boothInternal({"key":"k3y","invokeKey":"inv0ke"});"#;
            assert!(s.contains(call), "{s}");
            assert_eq!(s.matches("k3y").count(), 1, "the key appears once, inside the closure");
            assert!(
                s.ends_with("})();\n//# sourceURL=booth-inputs.js\n")
                    || s.ends_with("})();\n//# sourceURL=booth-shell.js\n")
            );
        }
    }
}
