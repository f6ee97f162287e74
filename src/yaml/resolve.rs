//! Plain-scalar resolution, the way the two Go YAML libraries behind kubectl see it.
//!
//! Reading follows go-yaml v3 (what kyaml decodes resources with): YAML 1.2-ish, so `yes`/`on`
//! are strings, but `0755` is still octal and `1_000` still an int. Writing needs the older
//! go-yaml v2 view (what kubectl prints with): a string is quoted when v2 would read it back as
//! something else, which includes the YAML 1.1 booleans and base-60 numbers.
//!
//! The number syntax rules mirror Go's `strconv` (`ParseInt` with base 0, `ParseFloat`), written
//! from their documented behaviour.

/// What a plain scalar means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// A timestamp, already rendered the way Go's JSON encoder prints a `time.Time`.
    Timestamp(String),
    Str,
}

/// Which Go library's resolver to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schema {
    /// go-yaml v3 (reading).
    V3,
    /// go-yaml v2 (kubectl's printer); adds YAML 1.1 booleans, drops `0o` octal.
    V2,
}

/// Resolve an untagged plain scalar as go-yaml v3 does.
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    resolve(s, Schema::V3)
}

/// Whether go-yaml v2 would read this text, unquoted, as anything but a string. Such strings
/// must be double-quoted on output.
pub(crate) fn v2_needs_quotes(s: &str) -> bool {
    resolve(s, Schema::V2) != Resolved::Str || is_base60_float(s)
}

fn resolve(s: &str, schema: Schema) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            resolve_word(s, schema)
        }
        b'.' => match s {
            ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
            ".inf" | ".Inf" | ".INF" => Resolved::Float(f64::INFINITY),
            _ => match go_parse_float(s) {
                Some(f) => Resolved::Float(f),
                None => Resolved::Str,
            },
        },
        b'+' | b'-' | b'0'..=b'9' => resolve_number(s, schema),
        _ => Resolved::Str,
    }
}

fn resolve_word(s: &str, schema: Schema) -> Resolved {
    match s {
        "true" | "True" | "TRUE" => Resolved::Bool(true),
        "false" | "False" | "FALSE" => Resolved::Bool(false),
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        _ if schema == Schema::V2 => match s {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Resolved::Bool(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Resolved::Bool(false),
            _ => Resolved::Str,
        },
        _ => Resolved::Str,
    }
}

fn resolve_number(s: &str, schema: Schema) -> Resolved {
    match s {
        "+.inf" | "+.Inf" | "+.INF" => return Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    if let Some(ts) = parse_timestamp(s) {
        return Resolved::Timestamp(ts);
    }
    let plain: std::borrow::Cow<'_, str> = if s.contains('_') {
        s.replace('_', "").into()
    } else {
        s.into()
    };
    let plain = plain.as_ref();
    if let Some(i) = go_parse_int(plain, 0) {
        return Resolved::Int(i);
    }
    if let Some(u) = go_parse_uint(plain, 0) {
        return Resolved::Uint(u);
    }
    if is_yaml_float(plain)
        && let Some(f) = parse_finite_decimal(plain)
    {
        return Resolved::Float(f);
    }
    if let Some(rest) = plain.strip_prefix("0b") {
        if let Some(i) = go_parse_int(rest, 2) {
            return Resolved::Int(i);
        }
        if let Some(u) = go_parse_uint(rest, 2) {
            return Resolved::Uint(u);
        }
    } else if let Some(rest) = plain.strip_prefix("-0b")
        && let Some(i) = go_parse_int(&format!("-{rest}"), 2)
    {
        return Resolved::Int(i);
    }
    if schema == Schema::V3 {
        if let Some(rest) = plain.strip_prefix("0o") {
            if let Some(i) = go_parse_int(rest, 8) {
                return Resolved::Int(i);
            }
            if let Some(u) = go_parse_uint(rest, 8) {
                return Resolved::Uint(u);
            }
        } else if let Some(rest) = plain.strip_prefix("-0o")
            && let Some(i) = go_parse_int(&format!("-{rest}"), 8)
        {
            return Resolved::Int(i);
        }
    }
    Resolved::Str
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the shape go-yaml accepts as a float.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A decimal float that does not overflow (Go reports overflow as an error).
fn parse_finite_decimal(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `ParseFloat` for the inputs go-yaml hands it unfiltered: text starting with `.`.
/// Underscores are allowed only between digits.
fn go_parse_float(s: &str) -> Option<f64> {
    if s.contains('_') {
        if !underscores_ok(s) {
            return None;
        }
        return go_parse_float(&s.replace('_', ""));
    }
    let b = s.as_bytes();
    // Only plain decimal syntax can get here (the text starts with '.').
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let mut saw_digit = false;
    let mut saw_dot = false;
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => saw_digit = true,
            b'.' if !saw_dot => saw_dot = true,
            _ => break,
        }
        i += 1;
    }
    if !saw_digit {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    parse_finite_decimal(s)
}

/// Go's rule: each underscore sits between two digits (or after a base prefix).
fn underscores_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if matches!(b.first(), Some(b'+' | b'-')) {
        b = &b[1..];
    }
    // Last class seen: '^' start, '0' digit, '_' underscore, '!' other.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `ParseUint(s, base, 64)` for underscore-free input; base 0 means "from the prefix".
pub(crate) fn go_parse_uint(s: &str, base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let (digits, base) = if base == 0 {
        if b[0] == b'0' {
            match (b.len() >= 3).then(|| b[1] | 0x20) {
                Some(b'b') => (&s[2..], 2),
                Some(b'o') => (&s[2..], 8),
                Some(b'x') => (&s[2..], 16),
                _ => (&s[1..], 8),
            }
        } else {
            (s, 10)
        }
    } else {
        (s, base)
    };
    let mut n: u64 = 0;
    for c in digits.bytes() {
        let d = (c as char).to_digit(36)?;
        if d >= base {
            return None;
        }
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// Go's `ParseInt(s, base, 64)` for underscore-free input.
pub(crate) fn go_parse_int(s: &str, base: u32) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(rest, base)?;
    if neg {
        if u <= 1u64 << 63 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// YAML 1.1 sexagesimal floats (`190:20:30.15`), which go-yaml v2 quotes on output.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    // One or more ":[0-5]?[0-9]" groups.
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        let d1 = b.get(i + 1).copied();
        let d2 = b.get(i + 2).copied();
        match (d1, d2) {
            (Some(x @ b'0'..=b'5'), Some(y)) if y.is_ascii_digit() => {
                let _ = x;
                i += 3;
            }
            (Some(x), _) if x.is_ascii_digit() => i += 2,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's timestamp recognition (a subset of the YAML 1.1 timestamp formats, parsed the way
/// Go's `time.Parse` does), rendered as Go's JSON encoding of the resulting `time.Time`
/// (RFC 3339 with nanoseconds, trailing zeros trimmed).
pub(crate) fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { b, i: 5 };
    let year = (b[..4]
        .iter()
        .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))) as i64;
    let month = p.num12()?;
    p.lit(b'-')?;
    let day = p.num12()?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let mut time = None;
    let mut zone: Option<i32> = None;
    if p.i < b.len() {
        let sep = b[p.i];
        if !matches!(sep, b'T' | b't' | b' ') {
            return None;
        }
        p.i += 1;
        let hour = p.num12()?;
        p.lit(b':')?;
        let min = p.num12()?;
        p.lit(b':')?;
        let sec = p.num12()?;
        if hour >= 24 || min >= 60 || sec >= 60 {
            return None;
        }
        let mut nanos = 0u32;
        if p.i + 1 < b.len() && matches!(b[p.i], b'.' | b',') && b[p.i + 1].is_ascii_digit() {
            p.i += 1;
            let start = p.i;
            while p.i < b.len() && b[p.i].is_ascii_digit() {
                p.i += 1;
            }
            // Digits past the ninth are ignored.
            let digits = &b[start..p.i.min(start + 9)];
            let mut n = 0u32;
            for d in digits {
                n = n * 10 + u32::from(d - b'0');
            }
            nanos = n * 10u32.pow(9 - digits.len() as u32);
        }
        if sep == b' ' {
            // "2006-1-2 15:4:5.999999999": no zone allowed.
        } else if p.i < b.len() && b[p.i] == b'Z' {
            p.i += 1;
            zone = Some(0);
        } else {
            // ±hh:mm
            let z = b.get(p.i..p.i + 6)?;
            let sign = match z[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if z[3] != b':' || ![z[1], z[2], z[4], z[5]].iter().all(u8::is_ascii_digit) {
                return None;
            }
            let hh = i32::from((z[1] - b'0') * 10 + (z[2] - b'0'));
            let mm = i32::from((z[4] - b'0') * 10 + (z[5] - b'0'));
            if hh > 24 || mm > 60 {
                return None;
            }
            zone = Some(sign * (hh * 60 + mm));
            p.i += 6;
        }
        time = Some((hour, min, sec, nanos));
    }
    if p.i != b.len() {
        return None;
    }
    if day < 1 || day > days_in(month, year) {
        return None;
    }
    let (hour, min, sec, nanos) = time.unwrap_or((0, 0, 0, 0));
    let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}");
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    match zone.unwrap_or(0) {
        0 => out.push('Z'),
        z => {
            let sign = if z < 0 { '-' } else { '+' };
            let z = z.abs();
            out.push_str(&format!("{sign}{:02}:{:02}", z / 60, z % 60));
        }
    }
    Some(out)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// One or two digits, as Go's layout elements `1`, `2`, `15`, `4`, `5` accept.
    fn num12(&mut self) -> Option<u32> {
        let d0 = *self.b.get(self.i).filter(|c| c.is_ascii_digit())?;
        self.i += 1;
        let mut n = u32::from(d0 - b'0');
        if let Some(&d1) = self.b.get(self.i).filter(|c| c.is_ascii_digit()) {
            self.i += 1;
            n = n * 10 + u32::from(d1 - b'0');
        }
        Some(n)
    }

    fn lit(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_plain_scalars() {
        use Resolved::*;
        let cases: &[(&str, Resolved)] = &[
            ("", Null),
            ("~", Null),
            ("NULL", Null),
            ("true", Bool(true)),
            ("FALSE", Bool(false)),
            ("yes", Str),
            ("on", Str),
            ("y", Str),
            ("0755", Int(493)),
            ("1_000", Int(1000)),
            ("0b101", Int(5)),
            ("+1", Int(1)),
            ("0x1F", Int(31)),
            ("0o17", Int(15)),
            ("-0", Int(0)),
            ("08", Float(8.0)),
            ("1e3", Float(1000.0)),
            (".5", Float(0.5)),
            ("1.", Float(1.0)),
            ("1e400", Str),
            ("18446744073709551615", Uint(u64::MAX)),
            ("18446744073709551616", Float(18446744073709551616.0)),
            ("0x", Str),
            ("+", Str),
            ("1:20", Str),
            ("2001-12-14", Timestamp("2001-12-14T00:00:00Z".into())),
            (
                "2001-12-14 21:59:43.10",
                Timestamp("2001-12-14T21:59:43.1Z".into()),
            ),
            (
                "2001-12-14t21:59:43.10+05:30",
                Timestamp("2001-12-14T21:59:43.1+05:30".into()),
            ),
            ("2001-02-30", Str),
            ("2001-12-14T21:59:43", Str),
        ];
        for (s, want) in cases {
            assert_eq!(&resolve_plain(s), want, "{s:?}");
        }
    }

    #[test]
    fn v2_quoting() {
        for s in [
            "",
            "y",
            "No",
            "ON",
            "off",
            "true",
            "~",
            "null",
            "1",
            "0o17",
            "1e3",
            ".5",
            "1:20",
            "2001-12-14",
            ".inf",
            "-.INF",
            "0x1F",
            "1_0",
        ] {
            assert!(v2_needs_quotes(s), "{s:?}");
        }
        for s in [
            "<<",
            "yes please",
            "abc",
            "1e400",
            "1.2.3",
            "0x",
            "-",
            "1:60",
        ] {
            assert!(!v2_needs_quotes(s), "{s:?}");
        }
    }
}
