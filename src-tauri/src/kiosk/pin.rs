//! The admin PIN: its rules, its Argon2id hash in `booth.toml` (`[admin] pin_hash`, a PHC string),
//! and [`PinGate`], which checks entered PINs and locks the admin screen after repeated wrong ones.
//!
//! Without a PIN in booth.toml the admin screen cannot be opened at all ([`Outcome::NotSet`]):
//! set one first with `booth pin` on the terminal (or remotely over ssh).
//!
//! Lock-out (defaults in [`Policy::default`]): three wrong PINs in a row lock the screen for
//! 30 s; every further wrong PIN locks it again for twice as long as the last time, up to 15 min.
//! The right PIN resets the count. While locked, PINs are not checked at all. The count and the
//! end of the lock-out live in a small JSON state file ([`crate::config::admin::default_state_path`]) written atomically,
//! so restarting Booth does not reset them. A missing state file means no wrong attempts; a file
//! that cannot be read or parsed counts as "one attempt left before a lock-out" (logged), so a
//! damaged file neither locks the operator out nor hands an attacker fresh attempts.
//! `booth pin --unlock` deletes the state.

use crate::config::admin::PIN_HASH_KEY;
use crate::config::settings::{self, Edit};
use crate::config::AdminSection;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Shortest and longest PIN, in digits.
pub const PIN_LEN: std::ops::RangeInclusive<usize> = 4..=12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("the PIN must be {min} to {max} digits", min = PIN_LEN.start(), max = PIN_LEN.end())]
    Length,
    #[error("the PIN must be digits only (0-9)")]
    NotDigits,
    #[error("cannot hash the PIN: {0}")]
    Hash(String),
}

/// Checks the PIN rules: digits only, 4 to 12 of them.
pub fn check_rules(pin: &str) -> Result<(), PinError> {
    if !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinError::NotDigits);
    }
    if !PIN_LEN.contains(&pin.len()) {
        return Err(PinError::Length);
    }
    Ok(())
}

/// The Argon2id PHC string of `pin` with a fresh random salt (after [`check_rules`]).
pub fn hash(pin: &str) -> Result<String, PinError> {
    check_rules(pin)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::Hash(e.to_string()))
}

/// Whether `pin` matches the PHC string `phc` (constant-time comparison inside argon2).
pub fn verify(pin: &str, phc: &str) -> Result<bool, String> {
    let parsed = PasswordHash::new(phc).map_err(|e| e.to_string())?;
    Ok(Argon2::default().verify_password(pin.as_bytes(), &parsed).is_ok())
}

/// Hashes `pin` and stores it in the booth.toml at `config` (atomically, comments kept).
pub fn set_pin(config: &Path, pin: &str) -> Result<(), String> {
    let phc = hash(pin).map_err(|e| e.to_string())?;
    settings::apply(config, &[Edit::set(PIN_HASH_KEY, phc)]).map(|_| ()).map_err(|e| e.to_string())
}

/// Removes the PIN from the booth.toml at `config`: the admin screen can no longer be opened.
pub fn clear_pin(config: &Path) -> Result<(), String> {
    settings::apply(config, &[Edit::remove(PIN_HASH_KEY)]).map(|_| ()).map_err(|e| e.to_string())
}

/// When wrong PINs lock the admin screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Wrong PINs in a row before the first lock-out.
    pub free_attempts: u32,
    /// The first lock-out; each further wrong PIN doubles it …
    pub first_lockout: Duration,
    /// … up to this.
    pub max_lockout: Duration,
}

/// The longest lock-out.
const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);

impl Default for Policy {
    /// `[admin]`'s defaults: three wrong PINs, then 30 s.
    fn default() -> Self {
        Policy::of(&AdminSection::default())
    }
}

impl Policy {
    /// The policy `[admin]` asks for.
    pub fn of(section: &AdminSection) -> Policy {
        Policy {
            free_attempts: section.free_attempts,
            first_lockout: Duration::from_secs(section.lockout_s),
            max_lockout: MAX_LOCKOUT,
        }
    }

    /// The lock-out after the `failures`-th wrong PIN in a row, if it causes one.
    pub fn lockout_after(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.free_attempts)?;
        let factor = 1u32.checked_shl(over).unwrap_or(u32::MAX);
        Some(self.first_lockout.checked_mul(factor).unwrap_or(self.max_lockout).min(self.max_lockout))
    }
}

/// The time source; tests use a hand-moved clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The wall clock (lock-outs must survive restarts, so a monotonic clock would not do).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The result of one PIN entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Right PIN: open the admin screen.
    Ok,
    /// Wrong PIN. `remaining` wrong PINs are left before a lock-out; when this one started a
    /// lock-out, `locked_for` says how long (and `remaining` is 0).
    Wrong { remaining: u32, locked_for: Option<Duration> },
    /// Locked out: the PIN was not checked. Try again after `retry_after`.
    Locked { retry_after: Duration },
    /// No usable PIN in booth.toml: the admin screen stays closed (see `booth pin`).
    NotSet,
}

/// What the state file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    /// Wrong PINs since the last right one.
    failures: u32,
    /// End of the current lock-out, in milliseconds since the Unix epoch (0: none).
    locked_until_ms: u64,
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Checks PINs with a persistent lock-out. One per Booth; it serialises checks.
pub struct PinGate<C: Clock = SystemClock> {
    path: PathBuf,
    policy: Policy,
    clock: C,
    /// Held during a check; also the state to use while the state file cannot be written.
    fallback: Mutex<Option<State>>,
}

impl PinGate<SystemClock> {
    /// A gate with the default policy and the wall clock, keeping its state at `state_path`.
    pub fn new(state_path: impl Into<PathBuf>) -> Self {
        PinGate::with(state_path, Policy::default(), SystemClock)
    }
}

impl<C: Clock> PinGate<C> {
    pub fn with(state_path: impl Into<PathBuf>, policy: Policy, clock: C) -> Self {
        PinGate { path: state_path.into(), policy, clock, fallback: Mutex::new(None) }
    }

    /// Checks `pin` against `pin_hash` (booth.toml's `admin.pin_hash`).
    pub fn check(&self, pin_hash: Option<&str>, pin: &str) -> Outcome {
        let mut fallback = self.fallback.lock().unwrap_or_else(|p| p.into_inner());
        let Some(phc) = pin_hash else { return Outcome::NotSet };
        let now = self.clock.now();
        let mut state = self.load(&fallback, now);
        if let Some(wait) = self.remaining_lockout(&state, now) {
            return Outcome::Locked { retry_after: wait };
        }
        let right = match verify(pin, phc) {
            Ok(right) => right,
            Err(e) => {
                tracing::error!(error = %e, "admin.pin_hash is unusable: admin screen closed");
                return Outcome::NotSet;
            }
        };
        if right {
            if state != State::default() {
                self.store(&mut fallback, State::default());
            }
            return Outcome::Ok;
        }
        state.failures = state.failures.saturating_add(1);
        let lockout = self.policy.lockout_after(state.failures);
        state.locked_until_ms = lockout.map(|d| millis(now + d)).unwrap_or(0);
        self.store(&mut fallback, state);
        tracing::warn!(failures = state.failures, locked_for = ?lockout, "wrong admin PIN");
        Outcome::Wrong { remaining: self.policy.free_attempts.saturating_sub(state.failures), locked_for: lockout }
    }

    /// How long the admin screen stays locked, if it is.
    pub fn locked_for(&self) -> Option<Duration> {
        let fallback = self.fallback.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.now();
        let state = self.load(&fallback, now);
        self.remaining_lockout(&state, now)
    }

    /// Forgets wrong attempts and any lock-out (`booth pin --unlock`).
    pub fn reset(&self) -> std::io::Result<()> {
        let mut fallback = self.fallback.lock().unwrap_or_else(|p| p.into_inner());
        *fallback = None;
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn remaining_lockout(&self, state: &State, now: SystemTime) -> Option<Duration> {
        let now_ms = millis(now);
        if state.locked_until_ms <= now_ms {
            return None;
        }
        // A lock-out never lasts longer than the policy allows, even if the clock was set back.
        Some(Duration::from_millis(state.locked_until_ms - now_ms).min(self.policy.max_lockout))
    }

    fn load(&self, fallback: &Option<State>, now: SystemTime) -> State {
        if let Some(state) = fallback {
            return *state;
        }
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return State::default(),
            Err(e) => return self.damaged(format!("cannot read ({e})")),
        };
        match serde_json::from_slice::<State>(&text) {
            Ok(mut state) => {
                // Clamp a lock-out end beyond the longest lock-out (a clock that was set back).
                let cap = millis(now + self.policy.max_lockout);
                state.locked_until_ms = state.locked_until_ms.min(cap);
                state
            }
            Err(e) => self.damaged(format!("not valid ({e})")),
        }
    }

    fn damaged(&self, why: String) -> State {
        tracing::warn!(file = %self.path.display(), "admin PIN attempt state {why}: one attempt left before a lock-out");
        State { failures: self.policy.free_attempts.saturating_sub(1), locked_until_ms: 0 }
    }

    fn store(&self, fallback: &mut Option<State>, state: State) {
        let json = serde_json::to_vec(&state).expect("plain struct");
        match settings::write_atomic(&self.path, &json) {
            Ok(()) => *fallback = None,
            Err(e) => {
                tracing::error!(file = %self.path.display(), error = %e, "cannot save admin PIN attempts; kept in memory");
                *fallback = Some(state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A clock the test moves by hand.
    #[derive(Clone)]
    struct TestClock(Arc<Mutex<SystemTime>>);

    impl TestClock {
        fn new() -> Self {
            TestClock(Arc::new(Mutex::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000))))
        }
        fn advance(&self, d: Duration) {
            *self.0.lock().unwrap() += d;
        }
        fn set_back(&self, d: Duration) {
            *self.0.lock().unwrap() -= d;
        }
    }

    impl Clock for TestClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn pin_rules() {
        assert_eq!(check_rules("1234"), Ok(()));
        assert_eq!(check_rules("123456789012"), Ok(()));
        assert_eq!(check_rules("123"), Err(PinError::Length));
        assert_eq!(check_rules("1234567890123"), Err(PinError::Length));
        assert_eq!(check_rules(""), Err(PinError::Length));
        assert_eq!(check_rules("12a4"), Err(PinError::NotDigits));
        assert_eq!(check_rules("1234 "), Err(PinError::NotDigits));
        assert_eq!(check_rules("١٢٣٤"), Err(PinError::NotDigits)); // Arabic-Indic digits are not 0-9
    }

    #[test]
    fn hash_and_verify() {
        let phc = hash("2468").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("2468", &phc).unwrap());
        assert!(!verify("2469", &phc).unwrap());
        assert_ne!(hash("2468").unwrap(), phc, "every hash has its own salt");
        assert_eq!(crate::config::admin::validate_hash(&phc), Ok(()));
        assert!(crate::config::admin::validate_hash("2468").is_err());
        assert!(
            crate::config::admin::validate_hash("$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA").is_err()
        );
        assert!(hash("12").is_err());
    }

    #[test]
    fn booth_toml_holds_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("booth.toml");
        std::fs::write(&path, "# terminal 9\n[terminal]\nsn = \"T-9\"\n").unwrap();
        set_pin(&path, "13579").unwrap();
        let (config, _) = crate::config::Config::load(Some(&path)).unwrap();
        let phc = config.admin.pin_hash.clone().unwrap();
        assert!(verify("13579", &phc).unwrap());
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("# terminal 9\n"));
        assert!(set_pin(&path, "1x").is_err());
        clear_pin(&path).unwrap();
        let (config, _) = crate::config::Config::load(Some(&path)).unwrap();
        assert_eq!(config.admin.pin_hash, None);
        let e = crate::config::Config::parse("[admin]\npin_hash = \"1234\"\n").unwrap_err();
        assert!(e.contains("admin.pin_hash"), "{e}");
    }

    #[test]
    fn lockout_doubles_and_the_right_pin_resets() {
        let dir = tempfile::tempdir().unwrap();
        let clock = TestClock::new();
        let gate = PinGate::with(dir.path().join("state.json"), Policy::default(), clock.clone());
        let phc = hash("1234").unwrap();
        let h = Some(phc.as_str());
        assert_eq!(gate.check(h, "0000"), Outcome::Wrong { remaining: 2, locked_for: None });
        assert_eq!(gate.check(h, "0000"), Outcome::Wrong { remaining: 1, locked_for: None });
        assert_eq!(gate.check(h, "0000"), Outcome::Wrong { remaining: 0, locked_for: Some(secs(30)) });
        // While locked even the right PIN is not checked.
        assert_eq!(gate.check(h, "1234"), Outcome::Locked { retry_after: secs(30) });
        clock.advance(secs(10));
        assert_eq!(gate.check(h, "1234"), Outcome::Locked { retry_after: secs(20) });
        assert_eq!(gate.locked_for(), Some(secs(20)));
        clock.advance(secs(20));
        assert_eq!(gate.locked_for(), None);
        assert_eq!(gate.check(h, "9999"), Outcome::Wrong { remaining: 0, locked_for: Some(secs(60)) });
        for expected in [120, 240, 480, 900, 900] {
            clock.advance(secs(900));
            assert_eq!(gate.check(h, "9999"), Outcome::Wrong { remaining: 0, locked_for: Some(secs(expected)) });
        }
        clock.advance(secs(900));
        assert_eq!(gate.check(h, "1234"), Outcome::Ok);
        assert_eq!(gate.check(h, "0000"), Outcome::Wrong { remaining: 2, locked_for: None });
        assert_eq!(gate.check(None, "1234"), Outcome::NotSet);
    }

    #[test]
    fn lockout_survives_a_restart_and_clock_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let clock = TestClock::new();
        let phc = hash("1234").unwrap();
        let h = Some(phc.as_str());
        {
            let gate = PinGate::with(&path, Policy::default(), clock.clone());
            for _ in 0..3 {
                gate.check(h, "0000");
            }
        }
        // A new Booth process reads the same state file.
        let gate = PinGate::with(&path, Policy::default(), clock.clone());
        assert_eq!(gate.check(h, "1234"), Outcome::Locked { retry_after: secs(30) });
        // A clock set far back does not stretch the lock-out beyond the longest one.
        clock.set_back(secs(86_400));
        assert_eq!(gate.locked_for(), Some(secs(900)));
        clock.advance(secs(86_400 + 30));
        assert_eq!(gate.check(h, "1234"), Outcome::Ok);
        assert!(path.exists());
        gate.reset().unwrap();
        assert!(!path.exists());
        gate.reset().unwrap();
    }

    #[test]
    fn damaged_or_missing_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let clock = TestClock::new();
        let phc = hash("1234").unwrap();
        let h = Some(phc.as_str());
        let gate = PinGate::with(&path, Policy::default(), clock.clone());
        assert_eq!(gate.locked_for(), None);
        std::fs::write(&path, b"{\"failures\": 2, \"locked_un").unwrap();
        assert_eq!(gate.locked_for(), None, "a damaged file does not lock the operator out");
        assert_eq!(gate.check(h, "0000"), Outcome::Wrong { remaining: 0, locked_for: Some(secs(30)) });
        clock.advance(secs(30));
        std::fs::write(&path, b"\x00\xff").unwrap();
        assert_eq!(gate.check(h, "1234"), Outcome::Ok);
        assert_eq!(gate.check(h, "0000"), Outcome::Wrong { remaining: 2, locked_for: None });
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_state_is_kept_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        // The state path's folder is a file: every write fails.
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, b"").unwrap();
        let clock = TestClock::new();
        let gate = PinGate::with(blocker.join("state.json"), Policy::default(), clock);
        let phc = hash("1234").unwrap();
        for _ in 0..3 {
            gate.check(Some(&phc), "0000");
        }
        assert_eq!(gate.check(Some(&phc), "1234"), Outcome::Locked { retry_after: secs(30) });
    }

    #[test]
    fn policy_arithmetic() {
        let p = Policy::default();
        assert_eq!(p.lockout_after(2), None);
        assert_eq!(p.lockout_after(3), Some(secs(30)));
        assert_eq!(p.lockout_after(8), Some(secs(900)));
        assert_eq!(p.lockout_after(u32::MAX), Some(secs(900)));
    }
}
