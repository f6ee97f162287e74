//! Printing one value exactly as `kubectl kustomize` does.
//!
//! kubectl turns each object into JSON and hands that to go-yaml v2, so the output is what the
//! libyaml-derived emitter in go-yaml v2 makes of a JSON-shaped tree: keys in go-yaml's "natural"
//! order, block collections, empty collections in flow style, and each string in the first of
//! plain / double-quoted / literal that is both requested and allowed. The emitter below keeps
//! the same small state (column, indentation stack, whitespace/indentation flags) so that line
//! folding and indentation come out identical.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::resolve::v2_needs_quotes;

const BEST_INDENT: i32 = 2;
const BEST_WIDTH: usize = 80;
/// Longest key (in bytes) written as `key: value` rather than `? key`.
const MAX_SIMPLE_KEY: usize = 128;

pub(crate) fn to_yaml(value: &Value) -> String {
    let mut e = Emitter::new();
    e.emit_node(value, Ctx::ROOT);
    // Document end: finish the last line.
    e.write_indent();
    e.out
}

/// One mapping printed as a document, without wrapping it in a `Value`.
pub(crate) fn object_to_yaml(map: &Map<String, Value>) -> String {
    let mut e = Emitter::new();
    if map.is_empty() {
        e.emit_empty("{", "}");
    } else {
        e.emit_block_mapping(map, Ctx::ROOT);
    }
    e.write_indent();
    e.out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// Where a node sits (go-yaml's root / sequence / mapping / simple-key contexts).
#[derive(Clone, Copy)]
struct Ctx {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

impl Ctx {
    const ROOT: Ctx = Ctx {
        root: true,
        mapping: false,
        simple_key: false,
    };
    const ITEM: Ctx = Ctx {
        root: false,
        mapping: false,
        simple_key: false,
    };
    const VALUE: Ctx = Ctx {
        root: false,
        mapping: true,
        simple_key: false,
    };
    const SIMPLE_KEY: Ctx = Ctx {
        root: false,
        mapping: true,
        simple_key: true,
    };
}

struct Emitter {
    out: String,
    /// Column in characters.
    column: usize,
    indent: i32,
    indents: Vec<i32>,
    /// The last thing written was whitespace (or nothing).
    whitespace: bool,
    /// Only indentation has been written on the current line.
    indention: bool,
}

impl Emitter {
    fn new() -> Self {
        Emitter {
            out: String::with_capacity(1024),
            column: 0,
            indent: -1,
            indents: Vec::with_capacity(16),
            whitespace: true,
            indention: true,
        }
    }

    fn emit_node(&mut self, value: &Value, ctx: Ctx) {
        match value {
            Value::Null => self.emit_scalar("null", Style::Plain, ctx),
            Value::Bool(true) => self.emit_scalar("true", Style::Plain, ctx),
            Value::Bool(false) => self.emit_scalar("false", Style::Plain, ctx),
            Value::Number(n) => self.emit_scalar(&format_number(n), Style::Plain, ctx),
            Value::String(s) => self.emit_scalar(s, string_style(s), ctx),
            Value::Array(items) if items.is_empty() => self.emit_empty("[", "]"),
            Value::Object(map) if map.is_empty() => self.emit_empty("{", "}"),
            Value::Array(items) => self.emit_block_sequence(items, ctx),
            Value::Object(map) => self.emit_block_mapping(map, ctx),
        }
    }

    fn emit_empty(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn emit_block_sequence(&mut self, items: &[Value], ctx: Ctx) {
        let indentless = ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.emit_node(item, Ctx::ITEM);
        }
        self.pop_indent();
    }

    fn emit_block_mapping(&mut self, map: &Map<String, Value>, _ctx: Ctx) {
        self.increase_indent(false, false);
        let mut entries: Vec<(&String, &Value)> = map.iter().collect();
        sort_keys(&mut entries);
        for (key, value) in entries {
            self.write_indent();
            let key_style = string_style(key);
            let key_info = analyze(key);
            if !key_info.multiline && key.len() <= MAX_SIMPLE_KEY {
                self.emit_analyzed(key, key_style, &key_info, Ctx::SIMPLE_KEY);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.emit_analyzed(key, key_style, &key_info, Ctx::VALUE);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.emit_node(value, Ctx::VALUE);
        }
        self.pop_indent();
    }

    fn emit_scalar(&mut self, text: &str, style: Style, ctx: Ctx) {
        let info = analyze(text);
        self.emit_analyzed(text, style, &info, ctx);
    }

    fn emit_analyzed(&mut self, text: &str, requested: Style, info: &Analysis, ctx: Ctx) {
        let style = select_style(requested, info, text.is_empty(), ctx.simple_key);
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(text, allow_breaks),
            Style::Single => self.write_single_quoted(text, allow_breaks),
            Style::Double => self.write_double_quoted(text, allow_breaks),
            Style::Literal => self.write_literal(text),
        }
        let _ = ctx.root;
        self.pop_indent();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copy a line-break character from the text: `\n` becomes a newline, others are copied.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(indicator);
        self.column += indicator.chars().count();
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, text: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && chars.peek() != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, text: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let last = text.len().saturating_sub(1);
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == ' ' {
                let next_space = chars.peek().is_some_and(|&(_, n)| n == ' ');
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < last
                    && !next_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, text: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        // A leading byte-order mark makes the emitter escape every character.
        let bom = text.starts_with('\u{feff}');
        let last = text.len().saturating_sub(1);
        let mut spaces = false;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if bom || !is_printable(c) || is_break(c) || c == '"' || c == '\\' {
                self.write_escape(c);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < last {
                    self.write_indent();
                    if chars.peek().is_some_and(|&(_, n)| n == ' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_escape(&mut self, c: char) {
        self.put('\\');
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{b}' => Some('v'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{a0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(s) = short {
            self.put(s);
            return;
        }
        let v = c as u32;
        let (marker, width) = if v <= 0xff {
            ('x', 2)
        } else if v <= 0xffff {
            ('u', 4)
        } else {
            ('U', 8)
        };
        self.put(marker);
        for k in (0..width).rev() {
            let digit = (v >> (k * 4)) & 0xf;
            let ch = char::from_digit(digit, 16).map_or('0', |d| d.to_ascii_uppercase());
            self.put(ch);
        }
    }

    fn write_literal(&mut self, text: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar header: indentation indicator, then chomping indicator.
        if text.starts_with(' ') || text.chars().next().is_some_and(is_break) {
            self.write_indicator("2", false, false, false);
        }
        let mut rev = text.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some("-"),
            (Some(l), _) if !is_break(l) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(p)) if is_break(p) => Some("+"),
            _ => None,
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in text.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// The style go-yaml v2 asks for before the emitter's own checks.
fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if v2_needs_quotes(s) {
        Style::Double
    } else {
        Style::Plain
    }
}

/// What the emitter learns about a scalar before choosing its style.
struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

fn analyze(text: &str) -> Analysis {
    if text.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain: false,
            block_plain: true,
            single_quoted: true,
            block: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    if text.starts_with("---") || text.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut chars = text.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t');
        let is_last = next.is_none();
        if first {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if first {
                leading_space = true;
            }
            if is_last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if first {
                leading_break = true;
            }
            if is_last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
        first = false;
    }

    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain: true,
        block_plain: true,
        single_quoted: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || special {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
        a.block = false;
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_indicators {
        a.flow_plain = false;
    }
    if block_indicators {
        a.block_plain = false;
    }
    a
}

/// The emitter's final choice (block context only: we never nest inside flow collections).
fn select_style(requested: Style, a: &Analysis, empty: bool, simple_key: bool) -> Style {
    let mut style = requested;
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain && (!a.block_plain || (empty && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block || simple_key) {
        style = Style::Double;
    }
    style
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Characters the emitter may write unescaped (it treats everything outside the BMP as
/// unprintable).
fn is_printable(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{feff}'
}

/// A JSON number as it comes out of kubectl: Go's JSON encoding of the number, read back by
/// go-yaml v2 (integers stay integers, everything else is a float) and printed again.
fn format_number(n: &Number) -> String {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // Go's JSON writes these without a fraction or exponent, so they come back as ints
        // when they fit.
        if (-TWO_POW_63..TWO_POW_63).contains(&f) {
            return (f as i64).to_string();
        }
        if (0.0..2.0 * TWO_POW_63).contains(&f) {
            return (f as u64).to_string();
        }
    }
    format_float_g(f)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, with go-yaml's names for the special values.
pub(crate) fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Shortest round-trip digits and decimal exponent, from Rust's `{:e}`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if f < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        // %e: d.ddd e±XX
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Sort mapping entries in go-yaml v2's key order. A hand-written merge sort: the order is not
/// guaranteed to be total for every exotic key, and the standard sort may panic on that.
fn sort_keys<'a>(entries: &mut [(&'a String, &'a Value)]) {
    if entries.len() < 2 || entries.windows(2).all(|w| !key_less(w[1].0, w[0].0)) {
        return;
    }
    let mut buf = entries.to_vec();
    merge_sort(entries, &mut buf);
}

fn merge_sort<'a>(v: &mut [(&'a String, &'a Value)], buf: &mut [(&'a String, &'a Value)]) {
    let n = v.len();
    if n <= 8 {
        for i in 1..n {
            let mut j = i;
            while j > 0 && key_less(v[j].0, v[j - 1].0) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mid = n / 2;
    {
        let (left, right) = v.split_at_mut(mid);
        let (lb, rb) = buf.split_at_mut(mid);
        merge_sort(left, lb);
        merge_sort(right, rb);
    }
    buf[..n].copy_from_slice(v);
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if key_less(buf[j].0, buf[i].0) {
            v[k] = buf[j];
            j += 1;
        } else {
            v[k] = buf[i];
            i += 1;
        }
        k += 1;
    }
    while i < mid {
        v[k] = buf[i];
        i += 1;
        k += 1;
    }
    while j < n {
        v[k] = buf[j];
        j += 1;
        k += 1;
    }
}

/// go-yaml v2's ordering of string keys: everything else before letters, and runs of digits
/// compared by numeric value.
pub(crate) fn key_less(a: &str, b: &str) -> bool {
    key_cmp(a, b) == Ordering::Less
}

fn key_cmp(a: &str, b: &str) -> Ordering {
    let mut ai = a.char_indices();
    let mut bi = b.chars();
    loop {
        let (Some((pos, ca)), Some(cb)) = (ai.next(), bi.next()) else {
            return a.chars().count().cmp(&b.chars().count());
        };
        if ca == cb {
            continue;
        }
        let al = ca.is_alphabetic();
        let bl = cb.is_alphabetic();
        if al && bl {
            return ca.cmp(&cb);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        // Both non-letters: compare the digit runs starting here by value.
        let (mut an, mut bn) = (0i64, 0i64);
        if ca == '0' || cb == '0' {
            // A zero inside a number (after a non-zero digit) is not a leading zero.
            for p in a[..pos].chars().rev() {
                if !is_digit(p) {
                    break;
                }
                if p != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut a_len = 0usize;
        for d in a[pos..].chars().take_while(|&d| is_digit(d)) {
            an = an.wrapping_mul(10).wrapping_add(d as i64 - '0' as i64);
            a_len += 1;
        }
        let mut b_len = 0usize;
        let b_rest = &b[pos..];
        for d in b_rest.chars().take_while(|&d| is_digit(d)) {
            bn = bn.wrapping_mul(10).wrapping_add(d as i64 - '0' as i64);
            b_len += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if a_len != b_len {
            return a_len.cmp(&b_len);
        }
        return ca.cmp(&cb);
    }
}

fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        c.is_numeric()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_format() {
        for (f, want) in [
            (1234567.5, "1.2345675e+06"),
            (1e-5, "1e-05"),
            (1e20, "1e+20"),
            (0.5, "0.5"),
            (123456.5, "123456.5"),
            (0.0001, "0.0001"),
            (1.8446744073709552e19, "1.8446744073709552e+19"),
            (-2.5e-7, "-2.5e-07"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(format_float_g(f), want, "{f}");
        }
    }

    #[test]
    fn numbers_as_kubectl_prints_them() {
        let n = |v: Value| match v {
            Value::Number(n) => format_number(&n),
            _ => unreachable!(),
        };
        assert_eq!(n(serde_json::json!(1.0)), "1");
        assert_eq!(n(serde_json::json!(-0.0)), "0");
        assert_eq!(n(serde_json::json!(1e20)), "1e+20");
        assert_eq!(n(serde_json::json!(1e3)), "1000");
        assert_eq!(n(serde_json::json!(u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn key_order() {
        let mut keys = vec![
            "b", "a1", "a10", "a2", "A", "_x", "1", "10", "9", "a01", "a",
        ];
        keys.sort_by(|a, b| key_cmp(a, b));
        assert_eq!(
            keys,
            vec![
                "_x", "1", "9", "10", "A", "a", "a1", "a01", "a2", "a10", "b"
            ]
        );
    }
}
