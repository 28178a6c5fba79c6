//! Integration tests for `booth-bridge`: envelopes per dialect, every router error, the in-flight
//! limit under a flood of calls, timeouts, sessions, group cancellation and events.
//!
//! Every error reply is asserted as a whole JSON value, so a change of shape, code or message is
//! caught. Timing-dependent tests run on tokio's paused clock and finish instantly.

use booth_bridge::{
    handler, ApiError, Bridge, Dialect, Done, ErrorCode, EventMessage, EventSink, Family, Limits, Observer, Params,
    Reply, Screen, SessionId, SessionInfo,
};
use futures::future::join_all;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const AMPE: &str = "ampeHHCommunication";

// --- helpers -------------------------------------------------------------------------------

fn session_info(key: &str, dialects: &[Dialect], permissions: &[Family]) -> SessionInfo {
    SessionInfo {
        key: key.to_string(),
        package_id: "com.example.booth-test".to_string(),
        permissions: permissions.iter().copied().collect(),
        dialects: dialects.iter().copied().collect(),
        screen: Screen::Front,
        url: "http://localhost/index.html".to_string(),
    }
}

/// A session with every dialect and every grantable permission.
fn full_info(key: &str) -> SessionInfo {
    let (dialects, permissions) = booth_bridge::all_permissions();
    SessionInfo {
        key: key.to_string(),
        package_id: "com.example.booth-test".to_string(),
        permissions,
        dialects,
        screen: Screen::Front,
        url: "http://localhost/index.html".to_string(),
    }
}

/// Collects every event; answers `false` (page gone) once `gone` is set.
#[derive(Default)]
struct TestSink {
    messages: Mutex<Vec<EventMessage>>,
    gone: AtomicBool,
}

impl TestSink {
    fn messages(&self) -> Vec<EventMessage> {
        self.messages.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl EventSink for TestSink {
    fn deliver(&self, message: EventMessage) -> bool {
        if self.gone.load(Ordering::SeqCst) {
            return false;
        }
        self.messages.lock().unwrap_or_else(|p| p.into_inner()).push(message);
        true
    }
}

fn open(bridge: &Bridge, info: SessionInfo) -> (SessionId, Arc<TestSink>) {
    let sink = Arc::new(TestSink::default());
    let id = bridge.open_session(info, sink.clone());
    (id, sink)
}

/// An ampeHHCommunication request, serialized the way the runtime does (`JSON.stringify`).
fn ampe(action: &str, task_id: &str, params: Value) -> String {
    json!({"action": action, "event": "open", "taskId": task_id, "params": params}).to_string()
}

/// Calls `my.call('ampeHHCommunication', raw)`; such calls always answer through `success()`.
async fn call_ampe(bridge: &Bridge, id: SessionId, raw: &str) -> Value {
    let reply = bridge.call(id, Dialect::My, AMPE, raw).await;
    assert!(reply.ok, "ampeHHCommunication must answer through success(), got {reply:?}");
    reply.body
}

/// The exact failure envelope of an ampeHHCommunication call.
fn ampe_err(action: Value, event: Value, task_id: Value, code: &str, message: &str) -> Value {
    json!({
        "action": action,
        "event": event,
        "taskId": task_id,
        "success": false,
        "message": message,
        "errorCode": code,
        "data": {},
    })
}

fn ampe_ok(action: &str, event: &str, task_id: &str, data: Value) -> Value {
    json!({
        "action": action,
        "event": event,
        "taskId": task_id,
        "success": true,
        "message": "成功",
        "data": data,
    })
}

/// Registers `getDeviceInfo` (family `device`, always allowed) answering with what it received.
fn register_echo_device_info(bridge: &Bridge) {
    bridge.register(
        Dialect::My,
        "getDeviceInfo",
        None,
        handler(|ctx, params: Params| async move {
            Ok(Done::from(json!({
                "model": "booth-test",
                "event": ctx.event,
                "taskId": ctx.task_id,
                "params": Value::Object(params.0),
            })))
        }),
    );
}

// --- my / ampeHHCommunication: success -----------------------------------------------------

#[tokio::test]
async fn my_ampe_valid_call_returns_full_success_envelope() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, session_info("main", &[Dialect::My], &[]));

    let body = call_ampe(&bridge, id, &ampe("getDeviceInfo", "t-1", json!({"a": 1, "b": "two"}))).await;

    assert_eq!(
        body,
        ampe_ok(
            "getDeviceInfo",
            "open",
            "t-1",
            json!({"model": "booth-test", "event": "open", "taskId": "t-1", "params": {"a": 1, "b": "two"}})
        )
    );
}

#[tokio::test]
async fn my_ampe_echoes_odd_task_ids_exactly() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let long: String = "长".repeat(500) + &"x".repeat(500);
    assert_eq!(long.chars().count(), 1000);
    let odd = [
        String::new(),
        "任务-1".to_string(),
        long,
        "🙂 ünïcødé \u{2028} \u{fffd} tab\there".to_string(),
        r#"he said "hi" and 'bye' \ back\slash \" {"json":"inside"}"#.to_string(),
        "</script><script>alert(1)</script>".to_string(),
    ];
    for task_id in odd {
        let body = call_ampe(&bridge, id, &ampe("getDeviceInfo", &task_id, json!({}))).await;
        assert_eq!(body["taskId"], Value::String(task_id.clone()), "reply taskId for {task_id:?}");
        assert_eq!(body["data"]["taskId"], Value::String(task_id.clone()), "ctx.task_id for {task_id:?}");
        assert_eq!(body["success"], json!(true));
        assert_eq!(body["message"], json!("成功"));
    }
}

#[tokio::test]
async fn my_ampe_missing_event_task_id_and_params_get_defaults() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, r#"{"action":"getDeviceInfo"}"#).await;
    assert_eq!(
        body,
        ampe_ok(
            "getDeviceInfo",
            "open",
            "",
            json!({"model": "booth-test", "event": "open", "taskId": "", "params": {}})
        )
    );

    // null fields are treated as absent by the handler but echoed exactly as sent.
    let body = call_ampe(&bridge, id, r#"{"action":"getDeviceInfo","event":null,"taskId":null,"params":null}"#).await;
    assert_eq!(body["event"], Value::Null);
    assert_eq!(body["taskId"], Value::Null);
    assert_eq!(body["data"], json!({"model": "booth-test", "event": "open", "taskId": "", "params": {}}));

    let body = call_ampe(&bridge, id, r#"{"action":"getDeviceInfo","event":"close","taskId":"c"}"#).await;
    assert_eq!(body["event"], json!("close"));
    assert_eq!(body["data"]["event"], json!("close"));
}

#[tokio::test]
async fn my_ampe_done_overrides_message_and_event_and_null_data_becomes_empty_object() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::My,
        "closeIDCardInfo",
        None,
        handler(|_ctx, _params| async move { Ok(Done::from(Value::Null).message("关闭成功").event("close")) }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, &ampe("closeIDCardInfo", "x", json!({}))).await;
    assert_eq!(
        body,
        json!({"action": "closeIDCardInfo", "event": "close", "taskId": "x", "success": true, "message": "关闭成功", "data": {}})
    );
}

#[tokio::test]
async fn my_ampe_handler_error_keeps_its_message_and_data() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::My,
        "sendCPUCardApduCommands",
        None,
        handler(|_ctx, _params| async move {
            Err::<Done, _>(ApiError::unavailable("读卡器未连接").data(json!({"results": ["9000"]})))
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, &ampe("sendCPUCardApduCommands", "apdu-1", json!({}))).await;
    assert_eq!(
        body,
        json!({
            "action": "sendCPUCardApduCommands", "event": "open", "taskId": "apdu-1", "success": false,
            "message": "设备不可用: 读卡器未连接", "errorCode": "DEVICE_UNAVAILABLE", "data": {"results": ["9000"]},
        })
    );
}

#[tokio::test]
async fn my_ampe_params_type_errors_from_handlers_are_invalid_params() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::My,
        "getQRCode",
        None,
        handler(|_ctx, params: Params| async move {
            let timeout = params.int_in("timeout", 1000..=60000)?;
            let flag = params.bool("flag")?;
            Ok(Done::from(json!({"timeout": timeout, "flag": flag})))
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, &ampe("getQRCode", "q", json!({"timeout": "2000", "flag": "true"}))).await;
    assert_eq!(body, ampe_ok("getQRCode", "open", "q", json!({"timeout": 2000, "flag": true})));

    let body = call_ampe(&bridge, id, &ampe("getQRCode", "q", json!({"timeout": "abc"}))).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getQRCode"),
            json!("open"),
            json!("q"),
            "INVALID_PARAMS",
            "参数错误: timeout 应为整数, 收到 \"abc\""
        )
    );

    let body = call_ampe(&bridge, id, &ampe("getQRCode", "q", json!({"timeout": 5}))).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getQRCode"),
            json!("open"),
            json!("q"),
            "INVALID_PARAMS",
            "参数错误: timeout 应在 1000 到 60000 之间, 收到 5"
        )
    );

    let body = call_ampe(&bridge, id, &ampe("getQRCode", "q", json!({"flag": 1}))).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getQRCode"),
            json!("open"),
            json!("q"),
            "INVALID_PARAMS",
            "参数错误: flag 应为布尔值, 收到 number"
        )
    );
}

// --- my / ampeHHCommunication: bad input ---------------------------------------------------

#[tokio::test]
async fn my_ampe_raw_params_not_json_is_invalid_params() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    for raw in ["", "{", "{action: getDeviceInfo}", "undefined", r#"{"action":"getDeviceInfo"} trailing"#] {
        let body = call_ampe(&bridge, id, raw).await;
        let message = body["message"].as_str().unwrap_or_default().to_string();
        assert!(message.starts_with("参数错误: 参数不是合法的 JSON (") && message.ends_with(')'), "{raw:?}: {message}");
        assert_eq!(body, ampe_err(json!(""), json!("open"), json!(""), "INVALID_PARAMS", &message), "{raw:?}");
    }
}

#[tokio::test]
async fn my_ampe_request_that_is_not_an_object_is_invalid_params() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    for (raw, kind) in
        [(r#""getDeviceInfo""#, "string"), ("42", "number"), ("[1,2]", "array"), ("null", "null"), ("true", "boolean")]
    {
        let body = call_ampe(&bridge, id, raw).await;
        let message = format!("参数错误: 参数应为对象 {{action, event, taskId, params}}, 收到 {kind}");
        assert_eq!(body, ampe_err(json!(""), json!("open"), json!(""), "INVALID_PARAMS", &message), "{raw}");
    }
}

#[tokio::test]
async fn my_ampe_missing_or_null_action_is_invalid_params_and_echoes_task_id() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, r#"{"taskId":"t-missing","params":{}}"#).await;
    assert_eq!(body, ampe_err(json!(""), json!("open"), json!("t-missing"), "INVALID_PARAMS", "参数错误: 缺少 action"));

    let body = call_ampe(&bridge, id, r#"{"action":null,"event":"open","taskId":"t-null"}"#).await;
    assert_eq!(body, ampe_err(Value::Null, json!("open"), json!("t-null"), "INVALID_PARAMS", "参数错误: 缺少 action"));

    let body = call_ampe(&bridge, id, "{}").await;
    assert_eq!(body, ampe_err(json!(""), json!("open"), json!(""), "INVALID_PARAMS", "参数错误: 缺少 action"));
}

#[tokio::test]
async fn my_ampe_empty_or_blank_action_is_invalid_params() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    for action in ["", "  ", "\t\n"] {
        let body = call_ampe(&bridge, id, &ampe(action, "t-empty", json!({}))).await;
        assert_eq!(
            body,
            ampe_err(json!(action), json!("open"), json!("t-empty"), "INVALID_PARAMS", "参数错误: action 不能为空"),
            "{action:?}"
        );
    }
}

#[tokio::test]
async fn my_ampe_wrong_field_types_are_invalid_params_and_echo_what_was_sent() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, r#"{"action":5,"event":"open","taskId":"t-a"}"#).await;
    assert_eq!(
        body,
        ampe_err(json!(5), json!("open"), json!("t-a"), "INVALID_PARAMS", "参数错误: action 应为字符串, 收到 number")
    );

    let body = call_ampe(&bridge, id, r#"{"action":["getDeviceInfo"],"taskId":"t-arr"}"#).await;
    assert_eq!(
        body,
        ampe_err(
            json!(["getDeviceInfo"]),
            json!("open"),
            json!("t-arr"),
            "INVALID_PARAMS",
            "参数错误: action 应为字符串, 收到 array"
        )
    );

    let body = call_ampe(&bridge, id, r#"{"action":"getDeviceInfo","event":"open","taskId":7}"#).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getDeviceInfo"),
            json!("open"),
            json!(7),
            "INVALID_PARAMS",
            "参数错误: taskId 应为字符串, 收到 number"
        )
    );

    let body = call_ampe(&bridge, id, r#"{"action":"getDeviceInfo","event":{"x":1},"taskId":"t-ev"}"#).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getDeviceInfo"),
            json!({"x": 1}),
            json!("t-ev"),
            "INVALID_PARAMS",
            "参数错误: event 应为字符串, 收到 object"
        )
    );

    let body =
        call_ampe(&bridge, id, r#"{"action":"getDeviceInfo","event":"open","taskId":"t-p","params":[1,2]}"#).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getDeviceInfo"),
            json!("open"),
            json!("t-p"),
            "INVALID_PARAMS",
            "参数错误: params 应为对象, 收到 array"
        )
    );

    let body = call_ampe(&bridge, id, r#"{"action":"getDeviceInfo","taskId":"t-s","params":"a=1"}"#).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getDeviceInfo"),
            json!("open"),
            json!("t-s"),
            "INVALID_PARAMS",
            "参数错误: params 应为对象, 收到 string"
        )
    );
}

#[tokio::test]
async fn my_ampe_unknown_action_is_unsupported_naming_it() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, &ampe("teleport", "t-u", json!({}))).await;
    assert_eq!(
        body,
        ampe_err(json!("teleport"), json!("open"), json!("t-u"), "UNSUPPORTED", "本终端不支持: 未知的操作 teleport")
    );

    // Names are case-sensitive, and event names are not actions.
    let body = call_ampe(&bridge, id, &ampe("getdeviceinfo", "t-u", json!({}))).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getdeviceinfo"),
            json!("open"),
            json!("t-u"),
            "UNSUPPORTED",
            "本终端不支持: 未知的操作 getdeviceinfo"
        )
    );
    let body = call_ampe(&bridge, id, &ampe("initQRListener", "t-u", json!({}))).await;
    assert_eq!(
        body,
        ampe_err(
            json!("initQRListener"),
            json!("open"),
            json!("t-u"),
            "UNSUPPORTED",
            "本终端不支持: 未知的操作 initQRListener"
        )
    );
}

#[tokio::test]
async fn my_ampe_known_but_unimplemented_action_is_unsupported_naming_it() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, &ampe("speech", "t-s", json!({"text": "你好"}))).await;
    assert_eq!(
        body,
        ampe_err(json!("speech"), json!("open"), json!("t-s"), "UNSUPPORTED", "本终端不支持: speech (本终端尚未实现)")
    );

    // UNSUPPORTED wins over a missing permission: the terminal cannot speak whatever the manifest says.
    let (no_speech, _) = open(&bridge, session_info("no-speech", &[Dialect::My], &[]));
    let body = call_ampe(&bridge, no_speech, &ampe("speech", "t-s2", json!({}))).await;
    assert_eq!(
        body,
        ampe_err(json!("speech"), json!("open"), json!("t-s2"), "UNSUPPORTED", "本终端不支持: speech (本终端尚未实现)")
    );
}

#[tokio::test]
async fn my_ampe_without_family_permission_is_denied_and_handler_never_runs() {
    let bridge = Bridge::default();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    bridge.register(
        Dialect::My,
        "getQRCode",
        None,
        handler(move |_ctx, _params| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok(Done::from(json!({"qrCode": "x"}))) }
        }),
    );
    let (id, _) = open(&bridge, session_info("main", &[Dialect::My], &[Family::Printer, Family::Idcard]));

    let body = call_ampe(&bridge, id, &ampe("getQRCode", "t-perm", json!({}))).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getQRCode"),
            json!("open"),
            json!("t-perm"),
            "PERMISSION_DENIED",
            "无权限: getQRCode 需要权限 scanner"
        )
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0);

    // The same call from a session that has the permission reaches the handler.
    let (granted, _) = open(&bridge, session_info("other", &[Dialect::My], &[Family::Scanner]));
    let body = call_ampe(&bridge, granted, &ampe("getQRCode", "t-ok", json!({}))).await;
    assert_eq!(body, ampe_ok("getQRCode", "open", "t-ok", json!({"qrCode": "x"})));
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    // A package whose permissions the operator grants (a remote one): the refusal names the key.
    bridge.set_grant_hint("com.example.booth-test", "booth.toml [package] remote_permissions");
    let body = call_ampe(&bridge, id, &ampe("getQRCode", "t-hint", json!({}))).await;
    assert_eq!(
        body["message"],
        "无权限: getQRCode 需要权限 scanner (未授予: 请在 booth.toml [package] remote_permissions 中加入 \"scanner\")"
    );
    assert_eq!(body["errorCode"], "PERMISSION_DENIED");
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn dialect_not_declared_by_the_session_is_permission_denied() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    bridge.register(
        Dialect::Wxfaceapp,
        "checkWxFacePayOsInfo",
        None,
        handler(|_ctx, _p| async move { Ok(Done::from(json!({"screenInfo": "front-screen"}))) }),
    );
    let (wx_only, _) = open(&bridge, session_info("wx", &[Dialect::Wxfaceapp], &[]));
    let (my_only, _) = open(&bridge, session_info("my", &[Dialect::My], &[]));

    let body = call_ampe(&bridge, wx_only, &ampe("getDeviceInfo", "t-d", json!({}))).await;
    assert_eq!(
        body,
        ampe_err(
            json!("getDeviceInfo"),
            json!("open"),
            json!("t-d"),
            "PERMISSION_DENIED",
            "无权限: 清单未声明 my 接口"
        )
    );

    let reply = bridge.call(my_only, Dialect::Wxfaceapp, "checkWxFacePayOsInfo", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-1", "reply": "无权限: 清单未声明 wxfaceapp 接口", "errorCode": "PERMISSION_DENIED"})
        }
    );

    let reply = bridge.call(wx_only, Dialect::Wxfaceapp, "checkWxFacePayOsInfo", "{}").await;
    assert_eq!(reply, Reply { ok: true, body: json!({"screenInfo": "front-screen"}) });
}

#[tokio::test]
async fn oversized_payload_is_payload_too_large_and_the_limit_itself_is_accepted() {
    let bridge = Bridge::new(Limits { max_params_bytes: 1024, ..Default::default() });
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let base = ampe("getDeviceInfo", "big", json!({"pad": ""})).len();
    let exactly = ampe("getDeviceInfo", "big", json!({"pad": "x".repeat(1024 - base)}));
    assert_eq!(exactly.len(), 1024);
    let body = call_ampe(&bridge, id, &exactly).await;
    assert_eq!(body["success"], json!(true), "{body}");

    let over = ampe("getDeviceInfo", "big", json!({"pad": "x".repeat(1025 - base)}));
    assert_eq!(over.len(), 1025);
    let body = call_ampe(&bridge, id, &over).await;
    // The oversized request is not parsed, so nothing of it is echoed.
    assert_eq!(
        body,
        ampe_err(json!(""), json!("open"), json!(""), "PAYLOAD_TOO_LARGE", "参数过大: 1025 字节, 上限 1024 字节")
    );

    // Bytes, not characters: 400 three-byte characters are 1200 bytes.
    let cjk = json!({"text": "汉".repeat(400)}).to_string();
    let reply = bridge.call(id, Dialect::Wxfaceapp, "postMsg", &cjk).await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-1", "reply": format!("参数过大: {} 字节, 上限 1024 字节", cjk.len()), "errorCode": "PAYLOAD_TOO_LARGE"})
        }
    );
}

#[tokio::test(start_paused = true)]
async fn slow_handler_times_out_with_exact_message() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::My,
        "getDeviceInfo",
        Some(Duration::from_secs(2)),
        handler(|_ctx, _params| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Done::from(json!({"late": true})))
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let started = tokio::time::Instant::now();
    let body = call_ampe(&bridge, id, &ampe("getDeviceInfo", "t-slow", json!({}))).await;
    let waited = started.elapsed();
    assert_eq!(body, ampe_err(json!("getDeviceInfo"), json!("open"), json!("t-slow"), "TIMEOUT", "超时"));
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn default_timeout_comes_from_limits_and_wxfaceapp_timeout_is_reply_code_minus_6() {
    let bridge = Bridge::new(Limits { default_timeout: Duration::from_secs(5), ..Default::default() });
    bridge.register(
        Dialect::Wxfaceapp,
        "facePay",
        None,
        handler(|_ctx, _params| async move {
            std::future::pending::<()>().await;
            Ok(Done::default())
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let started = tokio::time::Instant::now();
    let reply = bridge.call(id, Dialect::Wxfaceapp, "facePay", "{}").await;
    let waited = started.elapsed();
    assert_eq!(reply, Reply { ok: false, body: json!({"replyCode": "-6", "reply": "超时", "errorCode": "TIMEOUT"}) });
    assert!(waited >= Duration::from_secs(5) && waited < Duration::from_secs(6), "{waited:?}");
}

#[tokio::test]
async fn call_on_ended_session_is_session_ended_in_every_dialect() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));
    assert!(bridge.end_session(id));
    assert!(!bridge.end_session(id), "ending twice reports that nothing was open");

    let body = call_ampe(&bridge, id, &ampe("getDeviceInfo", "t-end", json!({}))).await;
    // The router does not read the request of an ended session, so nothing is echoed.
    assert_eq!(body, ampe_err(json!(""), json!("open"), json!(""), "SESSION_ENDED", "页面会话已结束"));

    let reply = bridge.call(id, Dialect::My, "getSystemInfo", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false, body: json!({"success": false, "message": "页面会话已结束", "errorCode": "SESSION_ENDED"})
        }
    );

    let reply = bridge.call(id, Dialect::Wxfaceapp, "facePay", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false, body: json!({"replyCode": "-1", "reply": "页面会话已结束", "errorCode": "SESSION_ENDED"})
        }
    );

    let reply = bridge.call(id, Dialect::Ft, "finCardOcr", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false, body: json!({"errMsg": "finCardOcr:fail 页面会话已结束", "errorCode": "SESSION_ENDED"})
        }
    );

    // A session id that never existed answers the same.
    let body = call_ampe(&bridge, 999_999, &ampe("getDeviceInfo", "t", json!({}))).await;
    assert_eq!(body["errorCode"], json!("SESSION_ENDED"));
}

// --- my top-level calls ---------------------------------------------------------------------

#[tokio::test]
async fn my_top_level_name_sent_as_action_is_unsupported() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::My,
        "startBizService",
        None,
        handler(|_ctx, _p| async move { Ok(Done::from(json!({"resultStatus": "9000"}))) }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    for name in ["startBizService", "getSystemInfo", "ampeStartOperationWatcher"] {
        let body = call_ampe(&bridge, id, &ampe(name, "t-top", json!({}))).await;
        assert_eq!(
            body,
            ampe_err(
                json!(name),
                json!("open"),
                json!("t-top"),
                "UNSUPPORTED",
                &format!("本终端不支持: 未知的操作 {name}")
            ),
        );
    }
}

#[tokio::test]
async fn my_action_called_as_top_level_name_is_unsupported() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let reply = bridge.call(id, Dialect::My, "getDeviceInfo", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"success": false, "message": "本终端不支持: 未知的操作 getDeviceInfo", "errorCode": "UNSUPPORTED"})
        }
    );
}

#[tokio::test]
async fn my_top_level_start_biz_service_unimplemented_fails_with_result_status_4000() {
    let bridge = Bridge::default();
    let (id, _) = open(&bridge, full_info("main"));

    let reply = bridge.call(id, Dialect::My, "startBizService", r#"{"bizType":"face"}"#).await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({
                "success": false,
                "message": "本终端不支持: startBizService (本终端尚未实现)",
                "errorCode": "UNSUPPORTED",
                "resultStatus": "4000",
                "result": {"errorCode": "UNSUPPORTED"},
            })
        }
    );

    // Other top-level names fail without resultStatus.
    let reply = bridge.call(id, Dialect::My, "getSystemInfo", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"success": false, "message": "本终端不支持: getSystemInfo (本终端尚未实现)", "errorCode": "UNSUPPORTED"})
        }
    );
}

#[tokio::test]
async fn my_top_level_success_is_the_handlers_object_and_bad_params_fail() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::My,
        "getSystemInfo",
        None,
        handler(|ctx, params: Params| async move {
            Ok(Done::from(json!({"platform": "booth", "event": ctx.event, "keys": params.0.len()})))
        }),
    );
    let (id, _) = open(&bridge, session_info("main", &[Dialect::My], &[]));

    let reply = bridge.call(id, Dialect::My, "getSystemInfo", r#"{"a":1}"#).await;
    assert_eq!(reply, Reply { ok: true, body: json!({"platform": "booth", "event": "", "keys": 1}) });
    let reply = bridge.call(id, Dialect::My, "getSystemInfo", "null").await;
    assert_eq!(reply, Reply { ok: true, body: json!({"platform": "booth", "event": "", "keys": 0}) });

    let reply = bridge.call(id, Dialect::My, "getSystemInfo", "[1]").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"success": false, "message": "参数错误: 参数应为对象, 收到 array", "errorCode": "INVALID_PARAMS"})
        }
    );

    let reply = bridge.call(id, Dialect::My, "startBizService", "\"x\"").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({
                "success": false, "message": "参数错误: 参数应为对象, 收到 string", "errorCode": "INVALID_PARAMS",
                "resultStatus": "4000", "result": {"errorCode": "INVALID_PARAMS"},
            })
        }
    );
}

// --- wxfaceapp and ft failure shapes --------------------------------------------------------

#[tokio::test]
async fn wxfaceapp_unimplemented_api_fails_with_reply_code_minus_6() {
    let bridge = Bridge::default();
    let (id, _) = open(&bridge, full_info("main"));

    let reply = bridge.call(id, Dialect::Wxfaceapp, "facePay", r#"{"amount":"1"}"#).await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-6", "reply": "本终端不支持: facePay (本终端尚未实现)", "errorCode": "UNSUPPORTED"})
        }
    );

    let reply = bridge.call(id, Dialect::Wxfaceapp, "teleport", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-6", "reply": "本终端不支持: 未知的操作 teleport", "errorCode": "UNSUPPORTED"})
        }
    );

    let reply = bridge.call(id, Dialect::Wxfaceapp, "facePay", "5").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-4", "reply": "参数错误: 参数应为对象, 收到 number", "errorCode": "INVALID_PARAMS"})
        }
    );
}

#[tokio::test]
async fn wxfaceapp_handler_reply_code_overrides_the_default() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::Wxfaceapp,
        "writeToSerialPort",
        None,
        handler(|_ctx, params: Params| async move {
            match params.str("msg")? {
                Some("fail") => Err(ApiError::invalid("串口写入失败").reply_code("-1").data(json!({"written": 0}))),
                _ => Err(ApiError::invalid("msg 不能为空")),
            }
        }),
    );
    let (id, _) = open(&bridge, session_info("main", &[Dialect::Wxfaceapp], &[Family::Serial]));

    let reply = bridge.call(id, Dialect::Wxfaceapp, "writeToSerialPort", r#"{"msg":"fail"}"#).await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-1", "reply": "参数错误: 串口写入失败", "errorCode": "INVALID_PARAMS", "written": 0})
        }
    );

    let reply = bridge.call(id, Dialect::Wxfaceapp, "writeToSerialPort", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-4", "reply": "参数错误: msg 不能为空", "errorCode": "INVALID_PARAMS"})
        }
    );

    let reply = bridge.call(id, Dialect::Wxfaceapp, "writeToSerialPort", r#"{"msg":3}"#).await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-4", "reply": "参数错误: msg 应为字符串, 收到 number", "errorCode": "INVALID_PARAMS"})
        }
    );
}

#[tokio::test]
async fn wxfaceapp_error_data_never_overwrites_the_failure_fields() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::Wxfaceapp,
        "launchMp",
        None,
        handler(|_ctx, _params| async move {
            Err::<Done, _>(
                ApiError::unavailable("x").data(json!({"replyCode": "0", "errorCode": "NONE", "extra": true})),
            )
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));
    let reply = bridge.call(id, Dialect::Wxfaceapp, "launchMp", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"replyCode": "-1", "reply": "设备不可用: x", "errorCode": "DEVICE_UNAVAILABLE", "extra": true})
        }
    );
}

#[tokio::test]
async fn ft_failures_have_err_msg_prefixed_with_the_api_name() {
    let bridge = Bridge::default();
    bridge.register(
        Dialect::Ft,
        "finFaceAuth",
        None,
        handler(
            |_ctx, _params| async move { Err::<Done, _>(ApiError::with_message(ErrorCode::Cancelled, "用户取消")) },
        ),
    );
    bridge.register(
        Dialect::Ft,
        "webrtc.mediaDevices.enumerateDevices",
        None,
        handler(|_ctx, _p| async move { Ok(Done::from(Value::Null)) }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let reply = bridge.call(id, Dialect::Ft, "finCardOcr", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"errMsg": "finCardOcr:fail 本终端不支持: finCardOcr (本终端尚未实现)", "errorCode": "UNSUPPORTED"})
        }
    );

    let reply = bridge.call(id, Dialect::Ft, "finFaceAuth", "{}").await;
    assert_eq!(
        reply,
        Reply { ok: false, body: json!({"errMsg": "finFaceAuth:fail 用户取消", "errorCode": "CANCELLED"}) }
    );

    let reply = bridge.call(id, Dialect::Ft, "finCardOcr", "not json").await;
    assert!(!reply.ok);
    assert_eq!(reply.body["errorCode"], json!("INVALID_PARAMS"));
    let msg = reply.body["errMsg"].as_str().unwrap_or_default();
    assert!(msg.starts_with("finCardOcr:fail 参数错误: 参数不是合法的 JSON ("), "{msg}");

    let reply = bridge.call(id, Dialect::Ft, "webrtc.mediaDevices.enumerateDevices", "{}").await;
    assert_eq!(reply, Reply { ok: true, body: json!({}) });

    // Without the `face` permission: an implemented API is denied, while an unimplemented one
    // is UNSUPPORTED whatever the manifest grants (the terminal cannot do it anyway).
    let (no_face, _) = open(&bridge, session_info("ft", &[Dialect::Ft], &[Family::Camera]));
    let reply = bridge.call(no_face, Dialect::Ft, "finFaceAuth", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"errMsg": "finFaceAuth:fail 无权限: finFaceAuth 需要权限 face", "errorCode": "PERMISSION_DENIED"})
        }
    );
    let reply = bridge.call(no_face, Dialect::Ft, "finCardOcr", "{}").await;
    assert_eq!(
        reply,
        Reply {
            ok: false,
            body: json!({"errMsg": "finCardOcr:fail 本终端不支持: finCardOcr (本终端尚未实现)", "errorCode": "UNSUPPORTED"})
        }
    );
}

// --- robustness -----------------------------------------------------------------------------

#[tokio::test]
async fn panicking_handler_is_answered_internal_and_releases_its_permit() {
    let bridge = Bridge::new(Limits { max_in_flight: 1, ..Default::default() });
    bridge.register(
        Dialect::My,
        "speech",
        None,
        handler(|_ctx, params: Params| async move {
            if params.get("boom").is_some() {
                panic!("handler bug");
            }
            Ok(Done::from(json!({"spoken": true})))
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let body = call_ampe(&bridge, id, &ampe("speech", "t-boom", json!({"boom": 1}))).await;
    assert_eq!(
        body,
        ampe_err(
            json!("speech"),
            json!("open"),
            json!("t-boom"),
            "INTERNAL",
            "内部错误: speech 的处理程序崩溃 (handler bug)"
        )
    );
    let body = call_ampe(&bridge, id, &ampe("speech", "t-after", json!({}))).await;
    assert_eq!(body, ampe_ok("speech", "open", "t-after", json!({"spoken": true})));
}

#[tokio::test]
async fn observers_see_sessions_calls_and_events() {
    /// (window, dialect, name, raw request, reply body)
    type Call = (String, Dialect, String, String, Value);
    #[derive(Default)]
    struct Log {
        calls: Mutex<Vec<Call>>,
        started: Mutex<Vec<(SessionId, String)>>,
        sessions: Mutex<Vec<(SessionId, String)>>,
        events: Mutex<Vec<&'static str>>,
    }
    impl Observer for Log {
        fn session_opened(&self, id: SessionId, info: &SessionInfo) {
            self.sessions.lock().unwrap_or_else(|p| p.into_inner()).push((id, info.key.clone()));
        }
        fn call_started(&self, session: SessionId, _dialect: Dialect, name: &str) {
            self.started.lock().unwrap_or_else(|p| p.into_inner()).push((session, name.to_string()));
        }
        fn call(&self, c: &booth_bridge::CallRecord<'_>) {
            assert!(c.started.elapsed() >= c.latency);
            self.calls.lock().unwrap_or_else(|p| p.into_inner()).push((
                c.info.key.clone(),
                c.dialect,
                c.name.to_string(),
                c.raw.to_string(),
                c.reply.body.clone(),
            ));
        }
        fn event(&self, event: &booth_bridge::DeviceEvent) {
            self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event.topic);
        }
    }
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let log = Arc::new(Log::default());
    bridge.add_observer(log.clone());
    let (id, _) = open(&bridge, full_info("obs"));

    let raw = ampe("getDeviceInfo", "t-obs", json!({}));
    let body = call_ampe(&bridge, id, &raw).await;
    let _ = bridge.call(id, Dialect::Ft, "finCardOcr", "{}").await;
    bridge.bus().publish("test.topic", json!({}));

    let seen = log.calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], ("obs".to_string(), Dialect::My, "ampeHHCommunication".to_string(), raw, body));
    assert_eq!(seen[1].1, Dialect::Ft);
    assert_eq!(seen[1].4["errorCode"], json!("UNSUPPORTED"));
    assert_eq!(
        *log.started.lock().unwrap_or_else(|p| p.into_inner()),
        vec![(id, "ampeHHCommunication".to_string()), (id, "finCardOcr".to_string())]
    );
    assert_eq!(*log.sessions.lock().unwrap_or_else(|p| p.into_inner()), vec![(id, "obs".to_string())]);
    assert_eq!(*log.events.lock().unwrap_or_else(|p| p.into_inner()), vec!["test.topic"]);
}

// --- floods ---------------------------------------------------------------------------------

/// Registers getDeviceInfo answering with values derived from its params and task id, after
/// yielding to the scheduler so that calls interleave.
fn register_yielding_echo(bridge: &Bridge) {
    bridge.register(
        Dialect::My,
        "getDeviceInfo",
        None,
        handler(|ctx, params: Params| async move {
            tokio::task::yield_now().await;
            let n = params.int("n")?.unwrap_or(-1);
            tokio::task::yield_now().await;
            Ok(Done::from(json!({"n": n, "square": n * n, "task": ctx.task_id})))
        }),
    );
}

#[tokio::test]
async fn flood_of_2000_concurrent_calls_never_crosses_replies() {
    let bridge = Bridge::new(Limits { max_in_flight: 2000, ..Default::default() });
    register_yielding_echo(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let raws: Vec<String> = (0..2000).map(|i| ampe("getDeviceInfo", &format!("task-{i}"), json!({"n": i}))).collect();
    let replies = join_all(raws.iter().map(|raw| bridge.call(id, Dialect::My, AMPE, raw))).await;

    assert_eq!(replies.len(), 2000);
    for (i, reply) in replies.into_iter().enumerate() {
        let i = i as i64;
        let task = format!("task-{i}");
        assert!(reply.ok);
        assert_eq!(reply.body, ampe_ok("getDeviceInfo", "open", &task, json!({"n": i, "square": i * i, "task": task})));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flood_of_2000_spawned_calls_on_many_threads_never_crosses_replies() {
    let bridge = Bridge::new(Limits { max_in_flight: 2000, ..Default::default() });
    register_yielding_echo(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let tasks: Vec<_> = (0..2000i64)
        .map(|i| {
            let bridge = bridge.clone();
            tokio::spawn(async move {
                let raw = ampe("getDeviceInfo", &format!("task-{i}"), json!({"n": i}));
                (i, bridge.call(id, Dialect::My, AMPE, &raw).await)
            })
        })
        .collect();
    for joined in join_all(tasks).await {
        let (i, reply) = joined.expect("call task panicked");
        let task = format!("task-{i}");
        assert_eq!(reply.body, ampe_ok("getDeviceInfo", "open", &task, json!({"n": i, "square": i * i, "task": task})));
    }
}

#[tokio::test(start_paused = true)]
async fn flood_over_max_in_flight_answers_busy_and_releases_permits() {
    let bridge = Bridge::new(Limits { max_in_flight: 64, ..Default::default() });
    bridge.register(
        Dialect::My,
        "getDeviceInfo",
        None,
        handler(|ctx, params: Params| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let n = params.int("n")?.unwrap_or(-1);
            Ok(Done::from(json!({"n": n, "task": ctx.task_id})))
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let raws: Vec<String> = (0..2000).map(|i| ampe("getDeviceInfo", &format!("task-{i}"), json!({"n": i}))).collect();
    let replies = join_all(raws.iter().map(|raw| bridge.call(id, Dialect::My, AMPE, raw))).await;

    let (mut ok, mut busy) = (0, 0);
    for (i, reply) in replies.into_iter().enumerate() {
        let task = format!("task-{i}");
        if reply.body["success"] == json!(true) {
            ok += 1;
            assert_eq!(reply.body, ampe_ok("getDeviceInfo", "open", &task, json!({"n": i, "task": task})));
        } else {
            busy += 1;
            assert_eq!(
                reply.body,
                ampe_err(
                    json!("getDeviceInfo"),
                    json!("open"),
                    json!(task),
                    "BUSY",
                    "设备忙: 同时进行的调用超过 64 个"
                )
            );
        }
    }
    assert_eq!(ok + busy, 2000);
    assert_eq!(ok, 64, "exactly the first 64 calls got a permit");

    // Every permit came back: a fresh call works, and so do 64 at once.
    let body = call_ampe(&bridge, id, &ampe("getDeviceInfo", "fresh", json!({"n": 7}))).await;
    assert_eq!(body, ampe_ok("getDeviceInfo", "open", "fresh", json!({"n": 7, "task": "fresh"})));
    let again = join_all(raws[..64].iter().map(|raw| bridge.call(id, Dialect::My, AMPE, raw))).await;
    assert!(again.iter().all(|r| r.body["success"] == json!(true)), "{again:?}");

    // The limit is per session: another page is not affected by this one's flood.
    let (other, _) = open(&bridge, full_info("other"));
    let body = call_ampe(&bridge, other, &ampe("getDeviceInfo", "other", json!({"n": 1}))).await;
    assert_eq!(body["success"], json!(true));
}

#[tokio::test(start_paused = true)]
async fn permits_are_released_after_timeouts_and_handler_errors() {
    let bridge = Bridge::new(Limits { max_in_flight: 1, ..Default::default() });
    bridge.register(
        Dialect::My,
        "getDeviceInfo",
        Some(Duration::from_millis(100)),
        handler(|_ctx, params: Params| async move {
            match params.str("mode")? {
                Some("hang") => {
                    std::future::pending::<()>().await;
                    Ok(Done::default())
                }
                Some("fail") => Err(ApiError::unavailable("坏了")),
                _ => Ok(Done::from(json!({"fine": true}))),
            }
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    for _ in 0..3 {
        let body = call_ampe(&bridge, id, &ampe("getDeviceInfo", "h", json!({"mode": "hang"}))).await;
        assert_eq!(body["errorCode"], json!("TIMEOUT"));
        let body = call_ampe(&bridge, id, &ampe("getDeviceInfo", "f", json!({"mode": "fail"}))).await;
        assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"));
    }
    let body = call_ampe(&bridge, id, &ampe("getDeviceInfo", "ok", json!({}))).await;
    assert_eq!(body, ampe_ok("getDeviceInfo", "open", "ok", json!({"fine": true})));
}

// --- events ---------------------------------------------------------------------------------

fn register_qr_event(bridge: &Bridge) {
    bridge.register_event(
        Dialect::My,
        "initQRListener",
        "scanner.code",
        Arc::new(|payload: &Value| Some(payload.clone())),
    );
}

#[tokio::test]
async fn subscribed_my_event_reaches_the_sink_wrapped_in_data() {
    let bridge = Bridge::default();
    register_qr_event(&bridge);
    let (id, sink) = open(&bridge, session_info("main", &[Dialect::My], &[Family::Scanner]));

    // Nothing is delivered before subscribing.
    bridge.bus().publish("scanner.code", json!({"code": "before"}));
    assert!(sink.messages().is_empty());

    assert_eq!(bridge.subscribe(id, Dialect::My, "initQRListener"), Ok(()));
    bridge.bus().publish("scanner.code", json!({"code": "x"}));
    bridge.bus().publish("scanner.status", json!({"available": true}));

    assert_eq!(
        sink.messages(),
        vec![EventMessage {
            dialect: Dialect::My,
            name: "initQRListener".to_string(),
            body: json!({"data": {"code": "x"}})
        }]
    );

    bridge.unsubscribe(id, Dialect::My, "initQRListener");
    bridge.bus().publish("scanner.code", json!({"code": "after"}));
    assert_eq!(sink.messages().len(), 1, "unsubscribe stops delivery");
}

#[tokio::test]
async fn wxfaceapp_events_are_delivered_unwrapped_and_render_can_skip() {
    let bridge = Bridge::default();
    bridge.register_event(
        Dialect::Wxfaceapp,
        "onCodePayEvent",
        "scanner.code",
        Arc::new(|payload: &Value| {
            let code = payload.get("code")?.as_str()?;
            code.starts_with("13").then(|| json!({"payCode": code}))
        }),
    );
    register_qr_event(&bridge);
    let (id, sink) = open(&bridge, full_info("main"));
    assert_eq!(bridge.subscribe(id, Dialect::Wxfaceapp, "onCodePayEvent"), Ok(()));
    assert_eq!(bridge.subscribe(id, Dialect::My, "initQRListener"), Ok(()));

    bridge.bus().publish("scanner.code", json!({"code": "134567"}));
    bridge.bus().publish("scanner.code", json!({"code": "http://x"}));

    let mut got = sink.messages();
    got.sort_by_key(|m| (m.dialect, m.body.to_string()));
    assert_eq!(
        got,
        vec![
            EventMessage {
                dialect: Dialect::My,
                name: "initQRListener".into(),
                body: json!({"data": {"code": "134567"}})
            },
            EventMessage {
                dialect: Dialect::My,
                name: "initQRListener".into(),
                body: json!({"data": {"code": "http://x"}})
            },
            EventMessage {
                dialect: Dialect::Wxfaceapp,
                name: "onCodePayEvent".into(),
                body: json!({"payCode": "134567"})
            },
        ]
    );
}

#[tokio::test]
async fn events_reach_only_the_sessions_that_subscribed() {
    let bridge = Bridge::default();
    register_qr_event(&bridge);
    let (a, sink_a) = open(&bridge, full_info("a"));
    let (_b, sink_b) = open(&bridge, full_info("b"));
    assert_eq!(bridge.subscribe(a, Dialect::My, "initQRListener"), Ok(()));
    // Subscribing twice is harmless: still one delivery per event.
    assert_eq!(bridge.subscribe(a, Dialect::My, "initQRListener"), Ok(()));

    bridge.bus().publish("scanner.code", json!({"code": "only-a"}));
    assert_eq!(sink_a.messages().len(), 1);
    assert!(sink_b.messages().is_empty());
}

#[tokio::test]
async fn subscribe_errors_are_exact() {
    let bridge = Bridge::default();
    register_qr_event(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    assert_eq!(
        bridge.subscribe(id, Dialect::My, "initIDCardListener"),
        Err(ApiError::with_message(ErrorCode::Unsupported, "本终端不支持: initIDCardListener (本终端尚未实现)"))
    );
    assert_eq!(
        bridge.subscribe(id, Dialect::My, "onTeleport"),
        Err(ApiError::with_message(ErrorCode::Unsupported, "本终端不支持: 未知事件 my.onTeleport"))
    );
    // A call name is not an event name.
    assert_eq!(
        bridge.subscribe(id, Dialect::My, "getQRCode"),
        Err(ApiError::with_message(ErrorCode::Unsupported, "本终端不支持: 未知事件 my.getQRCode"))
    );

    let (no_scanner, _) = open(&bridge, session_info("no-scanner", &[Dialect::My], &[Family::Printer]));
    assert_eq!(
        bridge.subscribe(no_scanner, Dialect::My, "initQRListener"),
        Err(ApiError::with_message(ErrorCode::PermissionDenied, "无权限: initQRListener 需要权限 scanner"))
    );
    // An unimplemented event is UNSUPPORTED even without its permission.
    assert_eq!(
        bridge.subscribe(no_scanner, Dialect::My, "initIDCardListener"),
        Err(ApiError::with_message(ErrorCode::Unsupported, "本终端不支持: initIDCardListener (本终端尚未实现)"))
    );

    let (no_my, _) = open(&bridge, session_info("no-my", &[Dialect::Wxfaceapp], &[Family::Scanner]));
    assert_eq!(
        bridge.subscribe(no_my, Dialect::My, "initQRListener"),
        Err(ApiError::with_message(ErrorCode::PermissionDenied, "无权限: 清单未声明 my 接口"))
    );

    assert!(bridge.end_session(id));
    assert_eq!(bridge.subscribe(id, Dialect::My, "initQRListener"), Err(ApiError::bare(ErrorCode::SessionEnded)));
    // Unsubscribing from an ended session or a name never subscribed is a no-op.
    bridge.unsubscribe(id, Dialect::My, "initQRListener");
    bridge.unsubscribe(no_my, Dialect::My, "nothing");
}

#[tokio::test]
async fn sink_reporting_page_gone_ends_the_session() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    register_qr_event(&bridge);
    let (gone, gone_sink) = open(&bridge, full_info("gone"));
    let (alive, alive_sink) = open(&bridge, full_info("alive"));
    assert_eq!(bridge.subscribe(gone, Dialect::My, "initQRListener"), Ok(()));
    assert_eq!(bridge.subscribe(alive, Dialect::My, "initQRListener"), Ok(()));
    assert_eq!(bridge.session_count(), 2);

    gone_sink.gone.store(true, Ordering::SeqCst);
    bridge.bus().publish("scanner.code", json!({"code": "x"}));

    assert_eq!(bridge.session_count(), 1);
    assert_eq!(bridge.session_key(gone), None);
    assert_eq!(bridge.session_key(alive), Some("alive".to_string()));
    assert_eq!(alive_sink.messages().len(), 1);
    let body = call_ampe(&bridge, gone, &ampe("getDeviceInfo", "t", json!({}))).await;
    assert_eq!(body["errorCode"], json!("SESSION_ENDED"));
}

#[tokio::test]
async fn handler_waiting_on_the_bus_gets_the_published_event() {
    let bridge = Bridge::default();
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    bridge.register(
        Dialect::My,
        "getQRCode",
        None,
        handler(move |ctx, _params| {
            let started_tx = started_tx.clone();
            async move {
                let mut rx = ctx.bus.subscribe();
                let _ = started_tx.send(());
                loop {
                    match rx.recv().await {
                        Ok(ev) if ev.topic == "scanner.code" => {
                            return Ok(Done::from(json!({"qrCode": ev.payload["code"]})))
                        }
                        Ok(_) => continue,
                        Err(e) => return Err(ApiError::unavailable(e)),
                    }
                }
            }
        }),
    );
    let (id, _) = open(&bridge, full_info("main"));

    let call = {
        let bridge = bridge.clone();
        tokio::spawn(async move { bridge.call(id, Dialect::My, AMPE, &ampe("getQRCode", "qr-1", json!({}))).await })
    };
    started.recv().await.expect("handler started");
    bridge.bus().publish("scanner.status", json!({"available": true}));
    bridge.bus().publish("scanner.code", json!({"code": "6901234567892"}));

    let reply = call.await.expect("call task");
    assert_eq!(reply.body, ampe_ok("getQRCode", "open", "qr-1", json!({"qrCode": "6901234567892"})));
}

// --- sessions -------------------------------------------------------------------------------

#[tokio::test]
async fn session_key_and_count_follow_open_and_end() {
    let bridge = Bridge::default();
    assert_eq!(bridge.session_count(), 0);
    let (a, _) = open(&bridge, full_info("main"));
    let (b, _) = open(&bridge, full_info("secondary"));
    assert_ne!(a, b);
    assert_eq!(bridge.session_key(a), Some("main".to_string()));
    assert_eq!(bridge.session_key(b), Some("secondary".to_string()));
    assert_eq!(bridge.session_count(), 2);

    assert!(bridge.end_session(b));
    assert_eq!(bridge.session_key(b), None);
    assert_eq!(bridge.session_count(), 1);
    assert_eq!(bridge.session_key(12345), None);
}

#[tokio::test]
async fn end_sessions_for_ends_only_that_key() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (main, _) = open(&bridge, full_info("main"));
    let (secondary, _) = open(&bridge, full_info("secondary"));

    bridge.end_sessions_for("secondary");
    bridge.end_sessions_for("no-such-window");

    assert_eq!(bridge.session_count(), 1);
    assert_eq!(bridge.session_key(secondary), None);
    let body = call_ampe(&bridge, secondary, &ampe("getDeviceInfo", "s", json!({}))).await;
    assert_eq!(body["errorCode"], json!("SESSION_ENDED"));
    let body = call_ampe(&bridge, main, &ampe("getDeviceInfo", "m", json!({}))).await;
    assert_eq!(body["success"], json!(true));
}

/// Registers getQRCode waiting until its session (or group "g") is cancelled; it reports on
/// `started` once it is waiting. A call with `event: "close"` cancels group "g".
fn register_waiting_qr(bridge: &Bridge) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    bridge.register(
        Dialect::My,
        "getQRCode",
        Some(Duration::from_secs(30)),
        handler(move |ctx, _params| {
            let tx = tx.clone();
            async move {
                if ctx.event == "close" {
                    let had = ctx.session.cancel_group("g");
                    return Ok(Done::from(json!({"cancelledAny": had})).message("关闭成功"));
                }
                let token = ctx.session.group_token("g");
                let _ = tx.send(ctx.task_id.clone());
                token.cancelled().await;
                Err(ApiError::bare(ErrorCode::Cancelled))
            }
        }),
    );
    rx
}

#[tokio::test]
async fn reopening_the_same_key_ends_the_old_session_and_cancels_its_calls() {
    let bridge = Bridge::default();
    let mut started = register_waiting_qr(&bridge);
    register_echo_device_info(&bridge);
    let (old, old_sink) = open(&bridge, full_info("main"));
    register_qr_event(&bridge);
    assert_eq!(bridge.subscribe(old, Dialect::My, "initQRListener"), Ok(()));

    let pending = {
        let bridge = bridge.clone();
        tokio::spawn(
            async move { bridge.call(old, Dialect::My, AMPE, &ampe("getQRCode", "pending-1", json!({}))).await },
        )
    };
    assert_eq!(started.recv().await.as_deref(), Some("pending-1"));

    let (new, new_sink) = open(&bridge, full_info("main"));
    assert_ne!(old, new);
    assert_eq!(bridge.session_count(), 1);
    assert_eq!(bridge.session_key(old), None);
    assert_eq!(bridge.session_key(new), Some("main".to_string()));

    let reply = pending.await.expect("call task");
    assert!(reply.ok);
    assert_eq!(reply.body, ampe_err(json!("getQRCode"), json!("open"), json!("pending-1"), "CANCELLED", "已取消"));

    let body = call_ampe(&bridge, old, &ampe("getDeviceInfo", "t-old", json!({}))).await;
    assert_eq!(body["errorCode"], json!("SESSION_ENDED"));
    let body = call_ampe(&bridge, new, &ampe("getDeviceInfo", "t-new", json!({}))).await;
    assert_eq!(body["success"], json!(true));

    // The old page's subscriptions went with it; the new page has none yet.
    bridge.bus().publish("scanner.code", json!({"code": "x"}));
    assert!(old_sink.messages().is_empty());
    assert!(new_sink.messages().is_empty());
}

#[tokio::test]
async fn cancel_group_from_another_call_releases_the_waiting_call() {
    let bridge = Bridge::default();
    let mut started = register_waiting_qr(&bridge);
    let (id, _) = open(&bridge, full_info("main"));

    let spawn_wait = |task: &'static str| {
        let bridge = bridge.clone();
        tokio::spawn(async move { bridge.call(id, Dialect::My, AMPE, &ampe("getQRCode", task, json!({}))).await })
    };
    let first = spawn_wait("wait-1");
    let second = spawn_wait("wait-2");
    let mut waiting = vec![started.recv().await, started.recv().await];
    waiting.sort();
    assert_eq!(waiting, vec![Some("wait-1".to_string()), Some("wait-2".to_string())]);

    let close = json!({"action": "getQRCode", "event": "close", "taskId": "close-1"}).to_string();
    let body = call_ampe(&bridge, id, &close).await;
    assert_eq!(
        body,
        json!({"action": "getQRCode", "event": "close", "taskId": "close-1", "success": true, "message": "关闭成功", "data": {"cancelledAny": true}})
    );

    for (task, call) in [("wait-1", first), ("wait-2", second)] {
        let reply = call.await.expect("call task");
        assert_eq!(reply.body, ampe_err(json!("getQRCode"), json!("open"), json!(task), "CANCELLED", "已取消"));
    }

    // Nothing left to cancel; the session itself is still open and usable.
    let body = call_ampe(&bridge, id, &close).await;
    assert_eq!(body["data"], json!({"cancelledAny": false}));
    assert_eq!(bridge.session_count(), 1);

    // A new wait after the cancellation gets a fresh group token and waits again.
    let third = spawn_wait("wait-3");
    assert_eq!(started.recv().await.as_deref(), Some("wait-3"));
    assert!(!third.is_finished());
    let body = call_ampe(&bridge, id, &close).await;
    assert_eq!(body["data"], json!({"cancelledAny": true}));
    let reply = third.await.expect("call task");
    assert_eq!(reply.body["errorCode"], json!("CANCELLED"));
}

#[tokio::test]
async fn group_cancellation_only_touches_its_own_session() {
    let bridge = Bridge::default();
    let mut started = register_waiting_qr(&bridge);
    let (a, _) = open(&bridge, full_info("a"));
    let (b, _) = open(&bridge, full_info("b"));

    let wait_a = {
        let bridge = bridge.clone();
        tokio::spawn(async move { bridge.call(a, Dialect::My, AMPE, &ampe("getQRCode", "a-wait", json!({}))).await })
    };
    assert_eq!(started.recv().await.as_deref(), Some("a-wait"));

    let close = json!({"action": "getQRCode", "event": "close", "taskId": "b-close"}).to_string();
    let body = call_ampe(&bridge, b, &close).await;
    assert_eq!(body["data"], json!({"cancelledAny": false}));
    tokio::task::yield_now().await;
    assert!(!wait_a.is_finished(), "session b's close must not cancel session a's call");

    assert!(bridge.end_session(a));
    let reply = wait_a.await.expect("call task");
    assert_eq!(reply.body, ampe_err(json!("getQRCode"), json!("open"), json!("a-wait"), "CANCELLED", "已取消"));
}

#[test]
fn registering_a_name_outside_the_contract_panics() {
    let bridge = Bridge::default();
    let result = std::panic::catch_unwind(|| {
        bridge.register(Dialect::My, "teleport", None, handler(|_ctx, _p| async move { Ok(Done::default()) }));
    });
    assert!(result.is_err());
    assert!(!bridge.implements(&booth_bridge::ApiSpec {
        dialect: Dialect::My,
        name: "teleport",
        kind: booth_bridge::Kind::Call,
        family: Family::Device,
        seed: "000",
    }));
}

#[tokio::test]
async fn publish_to_reaches_only_that_session_and_reports_ended_ones() {
    let bridge = Bridge::default();
    register_qr_event(&bridge);
    let (a, sink_a) = open(&bridge, full_info("main"));
    let (b, sink_b) = open(&bridge, full_info("secondary"));
    bridge.subscribe(a, Dialect::My, "initQRListener").unwrap();
    bridge.subscribe(b, Dialect::My, "initQRListener").unwrap();
    let mut waiter = bridge.bus().subscribe();

    assert!(bridge.bus().publish_to(b, "scanner.code", json!({"code": "only-b"})));
    assert!(sink_a.messages().is_empty());
    assert_eq!(sink_b.messages().len(), 1);
    assert_eq!(sink_b.messages()[0].body, json!({"data": {"code": "only-b"}}));
    assert!(waiter.try_recv().is_err(), "targeted events do not reach one-shot waiters");

    assert_eq!(bridge.sessions_for("secondary"), vec![b]);
    assert!(bridge.bus().session_alive(b));
    bridge.end_session(b);
    assert!(!bridge.bus().session_alive(b));
    assert!(bridge.sessions_for("secondary").is_empty());
    assert!(!bridge.bus().publish_to(b, "scanner.code", json!({"code": "gone"})));
    assert_eq!(sink_b.messages().len(), 1);
}

#[tokio::test]
async fn nesting_deeper_than_the_limit_is_invalid_params_before_parsing_and_the_limit_itself_is_accepted() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));
    let max = bridge.limits().max_depth;
    assert_eq!(max, 32, "the documented limit");
    // The request object is one level and params a second: max - 2 more fit exactly.
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let at_limit = format!(r#"{{"action":"getDeviceInfo","taskId":"d","params":{{"x":{}}}}}"#, nested(max - 2));
    let body = call_ampe(&bridge, id, &at_limit).await;
    assert_eq!(body["success"], json!(true), "{body}");

    let over = format!(r#"{{"action":"getDeviceInfo","taskId":"d","params":{{"x":{}}}}}"#, nested(max - 1));
    let body = call_ampe(&bridge, id, &over).await;
    assert_eq!(body, ampe_err(json!(""), json!("open"), json!(""), "INVALID_PARAMS", "参数错误: 参数嵌套超过 32 层"));

    // Brackets inside strings (also after escaped quotes) are text, not nesting.
    let text = format!(r#"{{"action":"getDeviceInfo","params":{{"x":"\"{}"}}}}"#, "[{".repeat(5000));
    let body = call_ampe(&bridge, id, &text).await;
    assert_eq!(body["success"], json!(true), "{body}");

    // Far deeper than serde_json's own recursion limit: still the same answer, in every dialect.
    let deep = nested(100_000);
    let reply = bridge.call(id, Dialect::Wxfaceapp, "postMsg", &deep).await;
    assert_eq!(reply.body["errorCode"], "INVALID_PARAMS", "{:?}", reply);
    let reply = bridge.call(id, Dialect::Ft, "finCardOcr", &deep).await;
    assert_eq!(reply.body["errMsg"], "finCardOcr:fail 参数错误: 参数嵌套超过 32 层");
}

#[tokio::test]
async fn long_names_and_values_are_cut_in_messages() {
    let bridge = Bridge::default();
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));
    let long = "汉".repeat(100_000);

    // An unknown action is echoed exactly (the contract) but the message repeats only its start.
    let body = call_ampe(&bridge, id, &ampe(&long, "t", json!({}))).await;
    assert_eq!(body["action"], json!(long));
    let shown = format!("本终端不支持: 未知的操作 {}…", "汉".repeat(21));
    assert_eq!(body["message"], json!(shown));

    // A page-supplied method name is cut in errMsg too.
    let name = format!("x{}", "y".repeat(1_000_000));
    let reply = bridge.call(id, Dialect::Ft, &name, "{}").await;
    let err_msg = reply.body["errMsg"].as_str().expect("errMsg");
    assert!(err_msg.len() < 300, "{err_msg}");
    assert!(err_msg.starts_with(&format!("x{}…:fail 本终端不支持: 未知的操作 x", "y".repeat(63))), "{err_msg}");

    // A subscription to a long unknown event name likewise.
    let err = bridge.subscribe(id, Dialect::My, &long).expect_err("unknown event");
    assert!(err.message.len() < 300, "{}", err.message);

    // A numeric field given as a huge non-numeric string.
    let params = Params(json!({"n": "9".repeat(10) + &"z".repeat(1_000_000)}).as_object().cloned().unwrap_or_default());
    let err = params.int("n").expect_err("not an integer");
    assert!(err.message.len() < 300, "{}", err.message);
}

/// `call_value` (parameters parsed by the IPC layer, as the app sends them) answers exactly as
/// `call` with the same JSON as text: replies, limits and their messages.
#[tokio::test]
async fn parsed_parameters_get_the_same_replies_and_limits_as_text() {
    let bridge = Bridge::new(Limits { max_params_bytes: 1024, ..Default::default() });
    register_echo_device_info(&bridge);
    let (id, _) = open(&bridge, full_info("main"));
    let base = ampe("getDeviceInfo", "big", json!({"pad": ""})).len();
    let nested = |levels: usize| -> Value {
        let text = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        serde_json::from_str(&text).expect("nested arrays")
    };
    let cases: Vec<(Dialect, &str, Value)> = vec![
        (Dialect::My, AMPE, json!({"action": "getDeviceInfo", "event": "open", "taskId": "7", "params": {"a": 1}})),
        (Dialect::My, AMPE, json!({"action": "getDeviceInfo", "taskId": 7})),
        (Dialect::My, AMPE, json!({"action": "", "taskId": "e"})),
        (Dialect::My, AMPE, json!("not an object")),
        (Dialect::My, AMPE, Value::Null),
        (Dialect::My, AMPE, json!({"action": "teleport"})),
        (Dialect::My, AMPE, json!({"action": "getDeviceInfo", "params": {"pad": "x".repeat(1024 - base)}})),
        (
            Dialect::My,
            AMPE,
            json!({"action": "getDeviceInfo", "taskId": "big", "event": "open", "params": {"pad": "x".repeat(1025 - base)}}),
        ),
        (Dialect::My, AMPE, json!({"action": "getDeviceInfo", "taskId": "d", "params": {"x": nested(30)}})),
        (Dialect::My, AMPE, json!({"action": "getDeviceInfo", "taskId": "d", "params": {"x": nested(31)}})),
        (Dialect::Wxfaceapp, "checkWxFacePayOsInfo", json!({})),
        (Dialect::Wxfaceapp, "postMsg", json!({"text": "汉".repeat(400)})),
        (Dialect::Wxfaceapp, "postMsg", json!([1, 2])),
        (Dialect::Ft, "finCardOcr", nested(40)),
    ];
    for (dialect, name, value) in cases {
        let text = bridge.call(id, dialect, name, &value.to_string()).await;
        let parsed = bridge.call_value(id, dialect, name, value.clone()).await;
        assert_eq!(parsed, text, "{dialect}.{name} {value}");
    }
}
