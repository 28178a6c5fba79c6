//! Key names (W3C UI Events `code`) from Linux input codes and Windows virtual keys, and the
//! characters a US-layout keyboard-wedge scanner types with them.

/// Linux `KEY_*` codes (input-event-codes.h) to names.
pub fn from_linux(code: u16) -> Option<&'static str> {
    const ROW_Q: [&str; 10] = ["KeyQ", "KeyW", "KeyE", "KeyR", "KeyT", "KeyY", "KeyU", "KeyI", "KeyO", "KeyP"];
    const ROW_A: [&str; 9] = ["KeyA", "KeyS", "KeyD", "KeyF", "KeyG", "KeyH", "KeyJ", "KeyK", "KeyL"];
    const ROW_Z: [&str; 7] = ["KeyZ", "KeyX", "KeyC", "KeyV", "KeyB", "KeyN", "KeyM"];
    const DIGITS: [&str; 10] =
        ["Digit1", "Digit2", "Digit3", "Digit4", "Digit5", "Digit6", "Digit7", "Digit8", "Digit9", "Digit0"];
    Some(match code {
        1 => "Escape",
        2..=11 => DIGITS[usize::from(code - 2)],
        12 => "Minus",
        13 => "Equal",
        14 => "Backspace",
        15 => "Tab",
        16..=25 => ROW_Q[usize::from(code - 16)],
        26 => "BracketLeft",
        27 => "BracketRight",
        28 => "Enter",
        29 => "ControlLeft",
        30..=38 => ROW_A[usize::from(code - 30)],
        39 => "Semicolon",
        40 => "Quote",
        41 => "Backquote",
        42 => "ShiftLeft",
        43 => "Backslash",
        44..=50 => ROW_Z[usize::from(code - 44)],
        51 => "Comma",
        52 => "Period",
        53 => "Slash",
        54 => "ShiftRight",
        55 => "NumpadMultiply",
        56 => "AltLeft",
        57 => "Space",
        69 => "NumLock",
        71 => "Numpad7",
        72 => "Numpad8",
        73 => "Numpad9",
        74 => "NumpadSubtract",
        75 => "Numpad4",
        76 => "Numpad5",
        77 => "Numpad6",
        78 => "NumpadAdd",
        79 => "Numpad1",
        80 => "Numpad2",
        81 => "Numpad3",
        82 => "Numpad0",
        83 => "NumpadDecimal",
        96 => "NumpadEnter",
        97 => "ControlRight",
        98 => "NumpadDivide",
        100 => "AltRight",
        103 => "ArrowUp",
        105 => "ArrowLeft",
        106 => "ArrowRight",
        108 => "ArrowDown",
        111 => "Delete",
        117 => "NumpadEqual",
        _ => return None,
    })
}

/// Windows virtual-key codes to names (`extended`: the E0 prefix, which tells the keypad's
/// Enter from the main one).
pub fn from_windows_vk(vk: u16, extended: bool) -> Option<&'static str> {
    const LETTERS: [&str; 26] = [
        "KeyA", "KeyB", "KeyC", "KeyD", "KeyE", "KeyF", "KeyG", "KeyH", "KeyI", "KeyJ", "KeyK", "KeyL", "KeyM", "KeyN",
        "KeyO", "KeyP", "KeyQ", "KeyR", "KeyS", "KeyT", "KeyU", "KeyV", "KeyW", "KeyX", "KeyY", "KeyZ",
    ];
    const DIGITS: [&str; 10] =
        ["Digit0", "Digit1", "Digit2", "Digit3", "Digit4", "Digit5", "Digit6", "Digit7", "Digit8", "Digit9"];
    const PAD: [&str; 10] =
        ["Numpad0", "Numpad1", "Numpad2", "Numpad3", "Numpad4", "Numpad5", "Numpad6", "Numpad7", "Numpad8", "Numpad9"];
    Some(match vk {
        0x08 => "Backspace",
        0x09 => "Tab",
        0x0D if extended => "NumpadEnter",
        0x0D => "Enter",
        0x10 => "ShiftLeft",
        0x11 => "ControlLeft",
        0x12 => "AltLeft",
        0x1B => "Escape",
        0x20 => "Space",
        0x25 => "ArrowLeft",
        0x26 => "ArrowUp",
        0x27 => "ArrowRight",
        0x28 => "ArrowDown",
        0x2E => "Delete",
        0x30..=0x39 => DIGITS[usize::from(vk - 0x30)],
        0x41..=0x5A => LETTERS[usize::from(vk - 0x41)],
        0x60..=0x69 => PAD[usize::from(vk - 0x60)],
        0x6A => "NumpadMultiply",
        0x6B => "NumpadAdd",
        0x6D => "NumpadSubtract",
        0x6E => "NumpadDecimal",
        0x6F => "NumpadDivide",
        0x90 => "NumLock",
        0xA0 => "ShiftLeft",
        0xA1 => "ShiftRight",
        0xBA => "Semicolon",
        0xBB => "Equal",
        0xBC => "Comma",
        0xBD => "Minus",
        0xBE => "Period",
        0xBF => "Slash",
        0xC0 => "Backquote",
        0xDB => "BracketLeft",
        0xDC => "Backslash",
        0xDD => "BracketRight",
        0xDE => "Quote",
        _ => return None,
    })
}

/// The character a US-layout key types, with or without Shift.
pub fn char_of(code: &str, shift: bool) -> Option<char> {
    if let Some(l) = code.strip_prefix("Key") {
        let c = l.chars().next()?;
        return Some(if shift { c } else { c.to_ascii_lowercase() });
    }
    if let Some(d) = code.strip_prefix("Digit") {
        let c = d.chars().next()?;
        if !shift {
            return Some(c);
        }
        return ")!@#$%^&*(".chars().nth(c.to_digit(10)? as usize);
    }
    if let Some(d) = code.strip_prefix("Numpad") {
        return match d {
            "Multiply" => Some('*'),
            "Add" => Some('+'),
            "Subtract" => Some('-'),
            "Decimal" => Some('.'),
            "Divide" => Some('/'),
            _ => d.chars().next().filter(char::is_ascii_digit),
        };
    }
    let (plain, shifted) = match code {
        "Space" => (' ', ' '),
        "Minus" => ('-', '_'),
        "Equal" => ('=', '+'),
        "BracketLeft" => ('[', '{'),
        "BracketRight" => (']', '}'),
        "Backslash" => ('\\', '|'),
        "Semicolon" => (';', ':'),
        "Quote" => ('\'', '"'),
        "Backquote" => ('`', '~'),
        "Comma" => (',', '<'),
        "Period" => ('.', '>'),
        "Slash" => ('/', '?'),
        _ => return None,
    };
    Some(if shift { shifted } else { plain })
}

/// Whether a key is Shift.
pub fn is_shift(code: &str) -> bool {
    code == "ShiftLeft" || code == "ShiftRight"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_and_windows_agree_on_names() {
        assert_eq!(from_linux(79), Some("Numpad1"));
        assert_eq!(from_windows_vk(0x61, false), Some("Numpad1"));
        assert_eq!(from_linux(30), Some("KeyA"));
        assert_eq!(from_windows_vk(0x41, false), Some("KeyA"));
        assert_eq!(from_linux(11), Some("Digit0"));
        assert_eq!(from_windows_vk(0x30, false), Some("Digit0"));
        assert_eq!(from_linux(96), Some("NumpadEnter"));
        assert_eq!(from_windows_vk(0x0D, true), Some("NumpadEnter"));
        assert_eq!(from_linux(50), Some("KeyM"));
        assert_eq!(from_linux(25), Some("KeyP"));
        assert_eq!(from_linux(999), None);
    }

    #[test]
    fn characters_of_a_us_layout() {
        assert_eq!(char_of("KeyA", false), Some('a'));
        assert_eq!(char_of("KeyA", true), Some('A'));
        assert_eq!(char_of("Digit2", true), Some('@'));
        assert_eq!(char_of("Digit0", false), Some('0'));
        assert_eq!(char_of("Numpad7", false), Some('7'));
        assert_eq!(char_of("Slash", true), Some('?'));
        assert_eq!(char_of("Enter", false), None);
    }
}
