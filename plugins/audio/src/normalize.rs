//! Mandarin text normalisation before synthesis: what a kiosk says is full of amounts, dates,
//! times, phone and ID numbers, and formant engines read digits badly (espeak-ng drops the
//! decimal point of "12.50"). Everything numeric becomes hanzi here, the way a person at a
//! counter would say it; a small table gives polyphones kiosks use their right reading.
//!
//! - amounts: `12.50元`, `¥12.5` → 十二元五角 ([`Money::YuanJiao`]) or 十二点五零元 ([`Money::Decimal`]);
//! - dates `2024-03-05`, `2024/3/5`, `2024年3月5日` → 二零二四年三月五日;
//! - times `14:30`, `09:05:10` → 十四点三十分, 九点零五分十秒; `08:00` → 八点整;
//! - mobile numbers (11 digits starting 1[3-9]), dashed phone numbers and 18-character ID
//!   numbers → digit by digit, 1 read 幺, X read 叉;
//! - other numbers: up to five digits as a quantity (一百零五), longer ones digit by digit;
//!   decimals 三点一四; percentages 百分之五十.

use regex::{Captures, Regex};
use std::sync::OnceLock;

/// How amounts of money are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Money {
    /// 12.50元 → 十二元五角, 0.05元 → 五分: how cashiers say it.
    YuanJiao,
    /// 12.50元 → 十二点五零元: every written digit read.
    Decimal,
}

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

fn token_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?P<date>(?P<y>\d{4})[-/年](?P<mo>\d{1,2})[-/月](?P<d>\d{1,2})日?)",
            r"|(?P<time>(?P<h>\d{1,2})[:：](?P<mi>\d{2})(?:[:：](?P<s>\d{2}))?)",
            r"|(?P<money1>[¥￥]\s*(?P<m1>\d+(?:\.\d+)?)(?:\s*元)?)",
            r"|(?P<money2>(?P<m2>\d+(?:\.\d+)?)\s*元)",
            r"|(?P<pct>(?P<p>\d+(?:\.\d+)?)\s*[%％])",
            r"|(?P<phone>\d{3,4}-\d{3,4}-\d{4}|\d{3,4}-\d{7,8})",
            r"|(?P<id>\d{17}[\dXx])",
            r"|(?P<num>\d+(?:\.\d+)?)",
        ))
        .expect("normaliser pattern")
    })
}

/// Normalises `text` for a Mandarin engine.
pub fn normalize(text: &str, money: Money) -> String {
    let ascii: String = text
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' => '.',
            _ => c,
        })
        .collect();
    token_re().replace_all(&ascii, |c: &Captures| token(c, money)).into_owned()
}

fn token(c: &Captures, money: Money) -> String {
    let get = |n: &str| c.name(n).map(|m| m.as_str()).unwrap_or("");
    if c.name("date").is_some() {
        let (mo, d) = (get("mo").parse::<u64>().unwrap_or(0), get("d").parse::<u64>().unwrap_or(0));
        if (1..=12).contains(&mo) && (1..=31).contains(&d) {
            return format!("{}年{}月{}日", digits(get("y"), false), cardinal(mo), cardinal(d));
        }
        return digits(&get("date").replace(['-', '/'], " "), false);
    }
    if c.name("time").is_some() {
        let h = get("h").parse::<u64>().unwrap_or(99);
        let mi = get("mi").parse::<u64>().unwrap_or(99);
        let s = c.name("s").map(|m| m.as_str().parse::<u64>().unwrap_or(99));
        if h < 24 && mi < 60 && s.is_none_or(|s| s < 60) {
            let mut out = format!("{}点", cardinal(h));
            match (mi, s) {
                (0, None | Some(0)) => out.push('整'),
                _ => {
                    out.push_str(&minutes(mi));
                    out.push('分');
                    if let Some(s) = s.filter(|&s| s > 0) {
                        out.push_str(&minutes(s));
                        out.push('秒');
                    }
                }
            }
            return out;
        }
        return digits(get("time"), false);
    }
    if c.name("money1").is_some() || c.name("money2").is_some() {
        let amount = if c.name("m1").is_some() { get("m1") } else { get("m2") };
        return read_money(amount, money);
    }
    if c.name("pct").is_some() {
        return format!("百分之{}", quantity(get("p")));
    }
    if let Some(p) = c.name("phone") {
        return digits(&p.as_str().replace('-', " "), true);
    }
    if let Some(id) = c.name("id") {
        return digits(id.as_str(), true);
    }
    let n = get("num");
    let mobile = n.len() == 11 && n.starts_with('1') && matches!(n.as_bytes()[1], b'3'..=b'9');
    if mobile || (!n.contains('.') && (n.len() > 5 || (n.len() > 1 && n.starts_with('0')))) {
        return digits(n, true);
    }
    quantity(n)
}

/// 05 → 零五, 30 → 三十 (minutes and seconds keep their leading zero).
fn minutes(v: u64) -> String {
    if v < 10 {
        format!("零{}", DIGITS[v as usize])
    } else {
        cardinal(v)
    }
}

/// Digit by digit; `yao` reads 1 as 幺 (phone and ID numbers), X as 叉.
fn digits(s: &str, yao: bool) -> String {
    s.chars()
        .map(|ch| match ch {
            '1' if yao => '幺',
            '0'..='9' => DIGITS[(ch as u8 - b'0') as usize],
            'X' | 'x' => '叉',
            other => other,
        })
        .collect()
}

/// "12" → 十二, "3.14" → 三点一四.
fn quantity(n: &str) -> String {
    let (int, frac) = n.split_once('.').unwrap_or((n, ""));
    let mut out = match int.parse::<u64>() {
        Ok(v) if int.len() <= 16 => cardinal(v),
        _ => digits(int, false),
    };
    if !frac.is_empty() {
        out.push('点');
        out.push_str(&digits(frac, false));
    }
    out
}

fn read_money(amount: &str, mode: Money) -> String {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let yuan = match int.parse::<u64>() {
        Ok(v) if int.len() <= 16 => cardinal(v),
        _ => digits(int, false),
    };
    if mode == Money::Decimal || frac.len() > 2 {
        return if frac.is_empty() { format!("{yuan}元") } else { format!("{yuan}点{}元", digits(frac, false)) };
    }
    let b = frac.as_bytes();
    let jiao = b.first().map_or(0, |d| d - b'0');
    let fen = b.get(1).map_or(0, |d| d - b'0');
    let whole = int.trim_start_matches('0');
    let mut out = String::new();
    if !whole.is_empty() || (jiao == 0 && fen == 0) {
        out.push_str(&yuan);
        out.push('元');
    }
    if jiao > 0 {
        out.push(DIGITS[usize::from(jiao)]);
        out.push('角');
    } else if fen > 0 && !whole.is_empty() {
        out.push('零');
    }
    if fen > 0 {
        out.push(DIGITS[usize::from(fen)]);
        out.push('分');
    }
    out
}

/// A quantity as said: 0 零, 12 十二, 105 一百零五, 2000 两千, 10500 一万零五百.
pub fn cardinal(v: u64) -> String {
    if v == 0 {
        return "零".into();
    }
    // Sections of four digits, with 万 and 亿 (and 万亿) between them.
    const BIG: [&str; 4] = ["", "万", "亿", "万亿"];
    let mut sections = Vec::new();
    let mut rest = v;
    while rest > 0 {
        sections.push(rest % 10_000);
        rest /= 10_000;
    }
    let mut out = String::new();
    let mut zero_pending = false;
    for (i, &sec) in sections.iter().enumerate().rev() {
        if sec == 0 {
            zero_pending = !out.is_empty();
            continue;
        }
        if !out.is_empty() && (zero_pending || sec < 1000) {
            out.push('零');
        }
        zero_pending = false;
        out.push_str(&section(sec, out.is_empty()));
        out.push_str(BIG[i.min(3)]);
    }
    out
}

/// 0 < v < 10,000. `leading`: the first words of the number (10 → 十 rather than 一十, and a
/// leading 2 before 千 is 两).
fn section(v: u64, leading: bool) -> String {
    const UNITS: [&str; 4] = ["千", "百", "十", ""];
    let ds = [v / 1000, v / 100 % 10, v / 10 % 10, v % 10];
    let mut out = String::new();
    let mut zero = false;
    let mut started = false;
    for (i, &d) in ds.iter().enumerate() {
        if d == 0 {
            zero = started;
            continue;
        }
        if zero {
            out.push('零');
            zero = false;
        }
        let first = !started && leading;
        match (d, i) {
            (1, 2) if first => {}
            (2, 0 | 1) if first => out.push('两'),
            _ => out.push(DIGITS[d as usize]),
        }
        out.push_str(UNITS[i]);
        started = true;
    }
    out
}

/// Polyphones kiosks say, which espeak-ng's Mandarin reads wrongly (银行 as yin2 xing2 …),
/// as tone-numbered pinyin the `cmn-latn-pinyin` voice reads right. Longest words first.
const POLYPHONES: &[(&str, &str)] = &[
    ("银行卡", "yin2 hang2 ka3"),
    ("银行", "yin2 hang2"),
    ("行长", "hang2 zhang3"),
    ("重新", "chong2 xin1"),
    ("重复", "chong2 fu4"),
    ("重置", "chong2 zhi4"),
    ("重试", "chong2 shi4"),
    ("还款", "huan2 kuan3"),
    ("还钱", "huan2 qian2"),
    ("归还", "gui1 huan2"),
    ("退还", "tui4 huan2"),
    ("还书", "huan2 shu1"),
    ("校长", "xiao4 zhang3"),
    ("会计", "kuai4 ji4"),
    ("长按", "chang2 an4"),
    ("单据", "dan1 ju4"),
    ("朝阳", "chao2 yang2"),
];

/// Replaces the polyphones of the table by their pinyin (spaced, so the voice reads each
/// syllable). For espeak-ng's `cmn-latn-pinyin` voice only: other engines read hanzi.
pub fn pinyin_polyphones(text: &str) -> String {
    let mut out = text.to_string();
    for (word, pinyin) in POLYPHONES {
        if out.contains(word) {
            out = out.replace(word, &format!(" {pinyin} "));
        }
    }
    out
}

/// Splits text into sentences for synthesis, so that the first is heard while the rest is
/// made. Breaks after 。！？；!?; and line breaks, and after ，, when a piece grows long.
pub fn sentences(text: &str, soft_limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut count = 0usize;
    for ch in text.chars() {
        cur.push(ch);
        count += 1;
        let hard = matches!(ch, '。' | '！' | '？' | '；' | '!' | '?' | ';' | '\n' | '…');
        let soft = matches!(ch, '，' | ',' | '、' | '：' | ':') && count >= soft_limit;
        if hard || soft || count >= soft_limit * 4 {
            push_piece(&mut out, &mut cur);
            count = 0;
        }
    }
    push_piece(&mut out, &mut cur);
    out
}

fn push_piece(out: &mut Vec<String>, cur: &mut String) {
    let t = cur.trim();
    if t.chars().any(|c| c.is_alphanumeric()) {
        out.push(t.to_string());
    } else if let Some(last) = out.last_mut() {
        last.push_str(t);
    }
    cur.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s, Money::YuanJiao)
    }

    #[test]
    fn quantities() {
        for (v, want) in [
            (0, "零"),
            (7, "七"),
            (10, "十"),
            (12, "十二"),
            (20, "二十"),
            (105, "一百零五"),
            (110, "一百一十"),
            (200, "两百"),
            (1005, "一千零五"),
            (1050, "一千零五十"),
            (2000, "两千"),
            (10000, "一万"),
            (10500, "一万零五百"),
            (100_000, "十万"),
            (120_034, "十二万零三十四"),
            (100_000_001, "一亿零一"),
            (3_0000_0000, "三亿"),
        ] {
            assert_eq!(cardinal(v), want, "{v}");
        }
    }

    #[test]
    fn money_both_ways() {
        assert_eq!(n("共12.50元"), "共十二元五角");
        assert_eq!(n("¥12.5"), "十二元五角");
        assert_eq!(n("￥0.05"), "五分");
        assert_eq!(n("12.05元"), "十二元零五分");
        assert_eq!(n("12.56 元"), "十二元五角六分");
        assert_eq!(n("100元"), "一百元");
        assert_eq!(n("0元"), "零元");
        assert_eq!(normalize("共12.50元", Money::Decimal), "共十二点五零元");
        assert_eq!(normalize("3元", Money::Decimal), "三元");
    }

    #[test]
    fn dates_times_phones_ids() {
        assert_eq!(n("2024-03-05"), "二零二四年三月五日");
        assert_eq!(n("2024/3/15"), "二零二四年三月十五日");
        assert_eq!(n("2024年12月1日到期"), "二零二四年十二月一日到期");
        assert_eq!(n("14:30"), "十四点三十分");
        assert_eq!(n("09:05:10"), "九点零五分十秒");
        assert_eq!(n("8:00开门"), "八点整开门");
        assert_eq!(n("请拨打13812345678"), "请拨打幺三八幺二三四五六七八");
        assert_eq!(n("400-123-4567"), "四零零 幺二三 四五六七");
        assert_eq!(n("110101199003071234"), "幺幺零幺零幺幺九九零零三零七幺二三四");
        assert_eq!(n("11010119900307123X"), "幺幺零幺零幺幺九九零零三零七幺二三叉");
    }

    #[test]
    fn other_numbers_percent_and_full_width() {
        assert_eq!(n("第3号窗口"), "第三号窗口");
        assert_eq!(n("订单号20240305001"), "订单号二零二四零三零五零零幺");
        assert_eq!(n("3.14"), "三点一四");
        assert_eq!(n("打8折, 省50%"), "打八折, 省百分之五十");
        assert_eq!(n("１２元"), "十二元");
        assert_eq!(n("007"), "零零七");
        assert_eq!(n("没有数字"), "没有数字");
        // Impossible dates and times are read digit by digit rather than guessed.
        assert_eq!(n("2024-13-45"), "二零二四 一三 四五");
        assert_eq!(n("25:61"), "二五:六一");
    }

    #[test]
    fn polyphones_become_pinyin() {
        assert_eq!(pinyin_polyphones("请到银行还款"), "请到 yin2 hang2  huan2 kuan3 ");
        assert_eq!(pinyin_polyphones("请重新插卡"), "请 chong2 xin1 插卡");
        assert_eq!(pinyin_polyphones("请取走您的小票"), "请取走您的小票");
    }

    #[test]
    fn sentences_split_at_stops_and_long_commas() {
        assert_eq!(sentences("请插卡。请输入密码！", 20), vec!["请插卡。", "请输入密码！"]);
        assert_eq!(sentences("短，句子", 20), vec!["短，句子"]);
        let long = "一二三四五六七八九十，一二三四五六七八九十，一二三";
        assert_eq!(sentences(long, 10).len(), 3);
        assert_eq!(sentences("好。。。", 20), vec!["好。。。"]);
        assert!(sentences("  ", 20).is_empty());
        let no_stop = "字".repeat(100);
        assert!(sentences(&no_stop, 10).iter().all(|s| s.chars().count() <= 40));
    }
}
