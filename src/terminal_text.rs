//! Stored text made safe for a terminal: control characters and text-direction overrides are
//! shown as visible escapes (`\x1b`, `\u{202e}`), so a name planted in the store cannot retitle
//! the window, erase a line, move the cursor or reverse what a person reads. Pure functions; JSON
//! output never goes through them, so programs still get the exact text.

use std::borrow::Cow;

/// Whether `c` changes what a terminal shows instead of being shown: C0 controls (ESC, BEL, CR,
/// ...), DEL, C1 controls (CSI U+009B among them), the Unicode bidirectional overrides and
/// isolates (the "Trojan Source" characters), and the Unicode line and paragraph separators.
pub fn is_terminal_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{2028}' | '\u{2029}'
        )
}

/// One line of text: every terminal control escaped, newlines included.
pub fn inline(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Text that may span lines on purpose (a multi-line value, a message): newlines kept, every
/// other terminal control escaped.
pub fn multiline(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_terminal_control(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_rewrites_the_screen() {
        assert_eq!(
            inline("a\u{1b}]0;t\u{7}b\r\u{7f}\u{9b}\u{202e}c"),
            "a\\x1b]0;t\\x07b\\r\\x7f\\u{9b}\\u{202e}c"
        );
        assert_eq!(inline("two\nlines\t"), "two\\nlines\\t");
        assert_eq!(multiline("two\nlines\u{1b}"), "two\nlines\\x1b");
    }

    #[test]
    fn leaves_ordinary_text_alone_without_copying() {
        for text in ["Données Sénégal – 2024", "中文 😀", "C:\\Users", ""] {
            assert!(matches!(inline(text), Cow::Borrowed(t) if t == text));
        }
    }
}
