//! The contract: every JS API of the seed documents, with its dialect, kind and permission family.
//!
//! This table is the single list of names Booth exposes. The injected runtime builds the
//! `wxfaceapp` and `ft` objects from it, the router refuses anything not in it, and the README's
//! coverage table is checked against it. Whether an API *works* is decided elsewhere: by a
//! capability plugin registering a handler for it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The three JavaScript objects Booth injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// `my.call('ampeHHCommunication', …)` / `my.on` (seeds 000 and 003).
    My,
    /// `wxfaceapp.*` (seed 001).
    Wxfaceapp,
    /// `ft.*` (seed 002).
    Ft,
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::My, Dialect::Wxfaceapp, Dialect::Ft];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::My => "my",
            Dialect::Wxfaceapp => "wxfaceapp",
            Dialect::Ft => "ft",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown dialect `{s}` (expected my, wxfaceapp or ft)"))
    }
}

/// Capability families: what a manifest's `permissions` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Device,
    Session,
    Scanner,
    Idcard,
    Smartcard,
    Sscard,
    Printer,
    Speech,
    Microphone,
    Presence,
    Display,
    Face,
    Payment,
    Identity,
    Serial,
    Keyboard,
    Kiosk,
    Buzzer,
    Camera,
}

impl Family {
    /// Families a manifest may name (`device` and `session` are always granted).
    pub const GRANTABLE: [Family; 17] = [
        Family::Scanner,
        Family::Idcard,
        Family::Smartcard,
        Family::Sscard,
        Family::Printer,
        Family::Speech,
        Family::Microphone,
        Family::Presence,
        Family::Display,
        Family::Face,
        Family::Payment,
        Family::Identity,
        Family::Serial,
        Family::Keyboard,
        Family::Kiosk,
        Family::Buzzer,
        Family::Camera,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Device => "device",
            Family::Session => "session",
            Family::Scanner => "scanner",
            Family::Idcard => "idcard",
            Family::Smartcard => "smartcard",
            Family::Sscard => "sscard",
            Family::Printer => "printer",
            Family::Speech => "speech",
            Family::Microphone => "microphone",
            Family::Presence => "presence",
            Family::Display => "display",
            Family::Face => "face",
            Family::Payment => "payment",
            Family::Identity => "identity",
            Family::Serial => "serial",
            Family::Keyboard => "keyboard",
            Family::Kiosk => "kiosk",
            Family::Buzzer => "buzzer",
            Family::Camera => "camera",
        }
    }

    /// Device information and the page's own session (operation watcher, exiting itself) need
    /// no permission: every mini-program may ask what terminal it runs on, or leave.
    pub fn always_allowed(self) -> bool {
        matches!(self, Family::Device | Family::Session)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Family {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Family::GRANTABLE
            .into_iter()
            .chain([Family::Device, Family::Session])
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown permission `{s}`"))
    }
}

/// A call answers once; an event is subscribed to and delivered many times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Call,
    Event,
}

/// One entry of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSpec {
    pub dialect: Dialect,
    /// The JS name exactly as documented: an `ampeHHCommunication` action, a `my.call` /
    /// `my.on` name, a `wxfaceapp` method or event, or an `ft` method (`webrtc.` paths dotted).
    pub name: &'static str,
    pub kind: Kind,
    pub family: Family,
    /// Which seed document defines it (`000` … `003`).
    pub seed: &'static str,
}

const fn c(dialect: Dialect, name: &'static str, family: Family, seed: &'static str) -> ApiSpec {
    ApiSpec { dialect, name, kind: Kind::Call, family, seed }
}
const fn e(dialect: Dialect, name: &'static str, family: Family, seed: &'static str) -> ApiSpec {
    ApiSpec { dialect, name, kind: Kind::Event, family, seed }
}

use Dialect::{Ft, My, Wxfaceapp as Wx};
use Family as F;

/// APIs a seed lists but also says were withdrawn, with the seed's words: they answer
/// `UNSUPPORTED` with this reason rather than "not implemented yet".
pub const WITHDRAWN: &[(Dialect, &str, &str)] =
    &[(Wx, "getLastPayResult", "seed 001 2.13 版本: 此接口下线,不再提供服务 (withdrawn)")];

/// `my.call` names other than `ampeHHCommunication` (whose actions are listed as `My` calls too).
pub const MY_TOP_LEVEL_CALLS: [&str; 3] = ["ampeStartOperationWatcher", "startBizService", "getSystemInfo"];

/// Every API of the four seed documents.
pub static APIS: &[ApiSpec] = &[
    // seed 000: my.call('ampeHHCommunication', {action}) actions
    c(My, "initFace", F::Face, "000"),
    c(My, "getFaceInfo", F::Face, "000"),
    c(My, "getFaceInfoPersonCard", F::Face, "000"),
    c(My, "doStorageFaceInfo", F::Face, "000"),
    c(My, "getIDCardInfo", F::Idcard, "000"),
    c(My, "closeIDCardInfo", F::Idcard, "000"),
    c(My, "getQRCode", F::Scanner, "000"),
    c(My, "startMicrophoneListener", F::Microphone, "000"),
    c(My, "stopMicrophoneListener", F::Microphone, "000"),
    c(My, "startMicrophone", F::Microphone, "000"),
    c(My, "stopMicrophone", F::Microphone, "000"),
    c(My, "getMicrophoneState", F::Microphone, "000"),
    c(My, "getDeviceInfo", F::Device, "000"),
    c(My, "speech", F::Speech, "000"),
    c(My, "speechStop", F::Speech, "000"),
    c(My, "enterIDNumber", F::Identity, "000"),
    c(My, "receiptPrinting", F::Printer, "000"),
    c(My, "startInfraredInductionListener", F::Presence, "000"),
    c(My, "stopInfraredInductionListener", F::Presence, "000"),
    c(My, "openSecondaryScreen", F::Display, "000"),
    c(My, "closeSecondaryScreen", F::Display, "000"),
    c(My, "getSecondaryScreenState", F::Display, "000"),
    c(My, "getSocialSecurityCardInfo", F::Sscard, "000"),
    c(My, "socialSecurityCardConfig", F::Sscard, "000"),
    c(My, "startCPUCardLoopRead", F::Smartcard, "000"),
    c(My, "stopCPUCardLoopRead", F::Smartcard, "000"),
    c(My, "readOnceCPUCardInfo", F::Smartcard, "000"),
    c(My, "sendCPUCardCommand", F::Smartcard, "000"),
    c(My, "sendCPUCardApduCommands", F::Smartcard, "000"),
    c(My, "psamCardColdReset", F::Smartcard, "000"),
    c(My, "startBuzzer", F::Buzzer, "000"),
    c(My, "deviceConfig", F::Kiosk, "000"),
    // seed 000 / 003: other my.call names and my.getSystemInfo
    c(My, "ampeStartOperationWatcher", F::Session, "000"),
    c(My, "getSystemInfo", F::Device, "000"),
    c(My, "startBizService", F::Identity, "003"),
    // seed 000: my.on events
    e(My, "initIDCardListener", F::Idcard, "000"),
    e(My, "initQRListener", F::Scanner, "000"),
    e(My, "initMicrophoneListener", F::Microphone, "000"),
    e(My, "ampeOperationTimeout", F::Session, "000"),
    e(My, "initInfraredInductionListener", F::Presence, "000"),
    e(My, "socialSecurityCardListener", F::Sscard, "000"),
    e(My, "CPUCardListener", F::Smartcard, "000"),
    // seed 001: wxfaceapp AsyncJsApi
    c(Wx, "checkWxFacePayOsInfo", F::Device, "001"),
    c(Wx, "writeToSerialPort", F::Serial, "001"),
    c(Wx, "launchMp", F::Display, "001"),
    c(Wx, "exitMp", F::Session, "001"),
    c(Wx, "postMsg", F::Display, "001"),
    c(Wx, "registKeyBoard", F::Keyboard, "001"),
    c(Wx, "facePay", F::Payment, "001"),
    c(Wx, "listenCodePayment", F::Scanner, "001"),
    c(Wx, "quickPay", F::Payment, "001"),
    c(Wx, "ableToQuickPay", F::Payment, "001"),
    c(Wx, "getLastPayResult", F::Payment, "001"),
    c(Wx, "isLoginOnFaceApp", F::Face, "001"),
    c(Wx, "faceLogin", F::Face, "001"),
    c(Wx, "logoutOnFaceApp", F::Face, "001"),
    // seed 001: wxfaceapp JsEvents
    e(Wx, "onRemoteMessage", F::Display, "001"),
    e(Wx, "onKeyBoardEvent", F::Keyboard, "001"),
    e(Wx, "onFacePayPassEvent", F::Payment, "001"),
    e(Wx, "onFacePayFailedEvent", F::Payment, "001"),
    e(Wx, "onQueryPaymentSucEvent", F::Payment, "001"),
    e(Wx, "onQueryPaymentFailedEvent", F::Payment, "001"),
    e(Wx, "onCodePayEvent", F::Scanner, "001"),
    e(Wx, "onSpecialCtrlEvent", F::Keyboard, "001"),
    // seed 002: ft
    c(Ft, "finCardOcr", F::Identity, "002"),
    c(Ft, "finFaceAuth", F::Face, "002"),
    c(Ft, "finLivenessCheck", F::Face, "002"),
    c(Ft, "finOpenOtherApp", F::Kiosk, "002"),
    c(Ft, "finOpenWitnessVideo", F::Camera, "002"),
    c(Ft, "webrtc.mediaDevices.enumerateDevices", F::Camera, "002"),
    c(Ft, "webrtc.mediaDevices.getSupportedConstraints", F::Camera, "002"),
    c(Ft, "webrtc.mediaDevices.getUserMedia", F::Camera, "002"),
    c(Ft, "webrtc.createRTCPeerConnection", F::Camera, "002"),
];

/// Finds the contract entry for a name.
pub fn lookup(dialect: Dialect, name: &str, kind: Kind) -> Option<&'static ApiSpec> {
    APIS.iter().find(|a| a.dialect == dialect && a.kind == kind && a.name == name)
}

/// All entries of one dialect and kind, in document order.
pub fn names(dialect: Dialect, kind: Kind) -> Vec<&'static str> {
    APIS.iter().filter(|a| a.dialect == dialect && a.kind == kind).map(|a| a.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_per_dialect_and_kind() {
        let mut seen = HashSet::new();
        for a in APIS {
            assert!(seen.insert((a.dialect, a.kind, a.name)), "duplicate {a:?}");
        }
    }

    #[test]
    fn families_round_trip() {
        for f in Family::GRANTABLE {
            assert_eq!(f.as_str().parse::<Family>().unwrap(), f);
            assert!(!f.always_allowed());
        }
        assert!("teleport".parse::<Family>().is_err());
    }

    #[test]
    fn seed_000_actions_are_all_listed() {
        // The actions of seed 000 as its examples spell them.
        for action in [
            "initFace",
            "getFaceInfo",
            "getFaceInfoPersonCard",
            "doStorageFaceInfo",
            "getIDCardInfo",
            "closeIDCardInfo",
            "getQRCode",
            "startMicrophoneListener",
            "stopMicrophoneListener",
            "startMicrophone",
            "stopMicrophone",
            "getMicrophoneState",
            "getDeviceInfo",
            "speech",
            "speechStop",
            "enterIDNumber",
            "receiptPrinting",
            "startInfraredInductionListener",
            "stopInfraredInductionListener",
            "openSecondaryScreen",
            "closeSecondaryScreen",
            "getSecondaryScreenState",
            "getSocialSecurityCardInfo",
            "socialSecurityCardConfig",
            "startCPUCardLoopRead",
            "stopCPUCardLoopRead",
            "readOnceCPUCardInfo",
            "sendCPUCardCommand",
            "sendCPUCardApduCommands",
            "psamCardColdReset",
            "startBuzzer",
            "deviceConfig",
        ] {
            assert!(lookup(Dialect::My, action, Kind::Call).is_some(), "{action}");
        }
    }
}
