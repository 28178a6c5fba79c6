//! One reader as a worker thread sees it: presence, power, transmit. Implemented by the PC/SC
//! backend (`pcsc_port`) and the simulator (`sim`).

use std::fmt;

/// What went wrong talking to a reader or card. Each kind has a seed error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardError {
    /// The PC/SC service is not running or stopped (pcscd, the Windows Smart Card service).
    NoService(String),
    /// No reader has this role (none configured, unplugged, or no pattern matches).
    NoReader(String),
    /// The reader is there but has no card.
    NoCard,
    /// The card left (or was reset by someone else) while Booth was using it.
    Removed,
    /// Another application holds the card exclusively.
    Sharing,
    /// The card did not answer to power-up (mute, unsupported, protocol mismatch).
    PowerFailed(String),
    /// A command could not be carried out (timeout, communication error).
    Transmit(String),
}

impl CardError {
    /// seed 000 codes: readOnceCPUCardInfo -1 初始化失败, -2 寻卡失败, -4 选卡失败, -5 上电失败.
    /// (-3 防碰撞失败 is not produced: PC/SC readers run anticollision themselves.)
    pub fn read_code(&self) -> &'static str {
        match self {
            CardError::NoService(_) | CardError::NoReader(_) => "-1",
            CardError::NoCard | CardError::Removed => "-2",
            CardError::Sharing => "-4",
            CardError::PowerFailed(_) | CardError::Transmit(_) => "-5",
        }
    }

    /// seed 000 codes of sendCPUCardCommand / sendCPUCardApduCommands / psamCardColdReset:
    /// -1 初始化失败 (no reader), -2 执行失败 (everything about the card itself).
    pub fn command_code(&self) -> &'static str {
        match self {
            CardError::NoService(_) | CardError::NoReader(_) => "-1",
            _ => "-2",
        }
    }

    /// Whether the reader itself is missing (as opposed to the card).
    pub fn no_reader(&self) -> bool {
        matches!(self, CardError::NoService(_) | CardError::NoReader(_))
    }
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardError::NoService(d) => write!(f, "智能卡服务不可用: {d}"),
            CardError::NoReader(d) => write!(f, "未找到读卡器: {d}"),
            CardError::NoCard => f.write_str("读卡器中无卡"),
            CardError::Removed => f.write_str("卡片已移走"),
            CardError::Sharing => f.write_str("卡片被其他程序独占"),
            CardError::PowerFailed(d) => write!(f, "卡片上电失败: {d}"),
            CardError::Transmit(d) => write!(f, "指令执行失败: {d}"),
        }
    }
}

/// A reader's card, as seen without talking to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub reader: String,
    pub present: bool,
    /// Changes with every insertion and removal (PC/SC's event counter): tells a card taken
    /// out and put back from one that stayed.
    pub insertion: u64,
    /// The ATR, when a card is present.
    pub atr: Vec<u8>,
}

/// How `power` treats a card that is already connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// Keep the connection and the card's state (selected files, security state).
    Keep,
    /// Warm reset: the card starts over, powered.
    Warm,
    /// Cold reset: power off, then on.
    Cold,
}

/// One reader. Methods block; they are only called on the reader's own worker thread.
pub trait Port: Send + 'static {
    /// Whether a card is in the reader, without connecting to it.
    fn presence(&mut self) -> Result<Presence, CardError>;
    /// Connects to the card (powering it) and returns its ATR. See [`Reset`].
    fn power(&mut self, reset: Reset) -> Result<Vec<u8>, CardError>;
    /// Sends one command APDU; connects first if needed.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError>;
}
