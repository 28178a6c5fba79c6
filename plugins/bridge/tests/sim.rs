//! The simulator registry: argument checking and conversion, defaults, refusals.

use booth_bridge::sim::{Action, Field, SimDevice, SimError, SimRegistry};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Door {
    seen: Mutex<Vec<Map<String, Value>>>,
}

impl SimDevice for Door {
    fn id(&self) -> &'static str {
        "door"
    }
    fn label(&self) -> &'static str {
        "Door"
    }
    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new(
                "open",
                "Open",
                vec![
                    Field::text("who", "Who", "").required(),
                    Field::integer("width", "Width", 90),
                    Field::boolean("alarm", "Alarm", false),
                    Field::choice("side", "Side", &["left", "right"], "left"),
                    Field::base64("photo", "Photo"),
                ],
            ),
            Action::new("close", "Close", vec![]),
        ]
    }
    fn state(&self) -> Value {
        json!({"opened": self.seen.lock().unwrap().len()})
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        if action == "close" {
            return Err(SimError::Refused("the door is not open".into()));
        }
        self.seen.lock().unwrap().push(args.clone());
        Ok(json!({"ok": true}))
    }
}

fn registry() -> (SimRegistry, Arc<Door>) {
    let r = SimRegistry::default();
    let door = Arc::new(Door::default());
    r.register(door.clone());
    r.note_real("scanner", "serial");
    (r, door)
}

#[test]
fn defaults_fill_in_and_strings_convert() {
    let (r, door) = registry();
    r.act("door", "open", &json!({"who": "ann", "width": "120", "alarm": "yes", "side": "right"})).unwrap();
    r.act("door", "open", &json!({"who": 7})).unwrap();
    let seen = door.seen.lock().unwrap().clone();
    assert_eq!(
        Value::Object(seen[0].clone()),
        json!({"who": "ann", "width": 120, "alarm": true, "side": "right", "photo": ""})
    );
    assert_eq!(
        Value::Object(seen[1].clone()),
        json!({"who": "7", "width": 90, "alarm": false, "side": "left", "photo": ""})
    );
}

#[test]
fn bad_arguments_are_refused_before_the_device_sees_them() {
    let (r, door) = registry();
    let cases = [
        (json!({}), "`who` is required"),
        (json!({"who": "a", "width": "wide"}), "`width` must be a whole number"),
        (json!({"who": "a", "width": 1.5}), "`width` must be a whole number"),
        (json!({"who": "a", "alarm": "maybe"}), "`alarm` must be true or false"),
        (json!({"who": "a", "side": "up"}), "`side` must be one of: left, right"),
        (json!({"who": "a", "colour": "red"}), "unknown argument `colour`"),
        (json!({"who": ["a"]}), "`who` must be a string"),
        (json!(["who"]), "arguments must be a JSON object"),
    ];
    for (args, want) in cases {
        match r.act("door", "open", &args) {
            Err(SimError::InvalidArgs(m)) => assert!(m.contains(want), "{args}: {m}"),
            other => panic!("{args}: {other:?}"),
        }
    }
    assert!(door.seen.lock().unwrap().is_empty());
}

#[test]
fn unknown_devices_actions_and_real_backends_are_told_apart() {
    let (r, _) = registry();
    assert_eq!(r.act("lamp", "on", &Value::Null), Err(SimError::UnknownDevice("lamp".into())));
    assert_eq!(
        r.act("scanner", "scan", &Value::Null),
        Err(SimError::NotSimulated { device: "scanner".into(), backend: "serial".into() })
    );
    match r.act("door", "slam", &Value::Null) {
        Err(SimError::UnknownAction { known, .. }) => assert_eq!(known, "open, close"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.act("door", "close", &Value::Null), Err(SimError::Refused("the door is not open".into())));
}

#[test]
fn describe_lists_actions_fields_and_state() {
    let (r, _) = registry();
    r.act("door", "open", &json!({"who": "x"})).unwrap();
    let d = r.describe();
    assert_eq!(d["devices"][0]["id"], "door");
    assert_eq!(d["devices"][0]["state"], json!({"opened": 1}));
    let fields = &d["devices"][0]["actions"][0]["fields"];
    assert_eq!(fields[0], json!({"name": "who", "label": "Who", "type": "text", "default": null}));
    assert_eq!(fields[3]["type"], "choice");
    assert_eq!(fields[3]["options"], json!(["left", "right"]));
    assert_eq!(d["real"], json!([{"id": "scanner", "backend": "serial"}]));
    assert_eq!(r.ids(), vec!["door"]);
}

#[test]
#[should_panic(expected = "registered twice")]
fn one_id_one_simulator() {
    let (r, _) = registry();
    r.register(Arc::new(Door::default()));
}
